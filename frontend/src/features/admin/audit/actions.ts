// Readable names of the audit actions (the AuditAction enum of the OpenAPI
// document) and of the settings groups, in each language. They are merged
// into the console's messages when the audit screen or the user editor
// loads, so that the first page of the console does not carry them.
// actions.spec.ts checks that every action has a name in both languages.
import type { components } from '@/api/schema'
import { i18n, supportedLocales, type Locale } from '@/i18n'

export type AuditAction = components['schemas']['AuditAction']

type Names = {
  auditActions: Record<AuditAction, string>
  auditActionGroups: Record<string, string>
  auditSettingsGroups: Record<string, string>
  auditView: Record<string, string>
}

const en: Names = {
  auditActions: {
    'account.2fa_disabled': 'Two-factor authentication turned off',
    'account.2fa_enabled': 'Two-factor authentication turned on',
    'account.2fa_recovery_codes_regenerated': 'New recovery codes made',
    'account.email_change_requested': 'Email change requested',
    'account.email_changed': 'Email address changed',
    'account.email_released': 'Unconfirmed email address released',
    'account.identity_linked': 'Identity provider linked',
    'account.identity_unlinked': 'Identity provider unlinked',
    'account.passkey_added': 'Passkey added',
    'account.passkey_removed': 'Passkey removed',
    'account.passkey_renamed': 'Passkey renamed',
    'account.password_changed': 'Password changed',
    'account.profile_updated': 'Own profile updated',
    'api_key.created': 'API key created',
    'api_key.revoked': 'API key revoked',
    'application.consent': 'Application access granted',
    'application.created': 'Application created',
    'application.deleted': 'Application deleted',
    'application.grant_revoked': 'Application access revoked',
    'application.secret_rotated': 'Application secret replaced',
    'application.updated': 'Application changed',
    'auth.account_locked': 'Account locked after failed sign-ins',
    'auth.email_verified': 'Email address confirmed',
    'auth.login_failed': 'Sign-in failed',
    'auth.login_succeeded': 'Signed in',
    'auth.logout': 'Signed out',
    'auth.mfa_failed': 'Wrong second-factor code',
    'auth.passkey_used': 'Signed in with a passkey',
    'auth.password_reset': 'Password reset by email link',
    'auth.password_reset_requested': 'Password reset requested',
    'auth.reauth_failed': 'Wrong password when confirming',
    'auth.registered': 'Registered',
    'auth.token_issued': 'Access token issued',
    'identity_provider.created': 'Identity provider added',
    'identity_provider.deleted': 'Identity provider deleted',
    'identity_provider.discovered': 'Identity provider discovery read',
    'identity_provider.reordered': 'Identity providers reordered',
    'identity_provider.updated': 'Identity provider changed',
    'mail.discarded': 'Email discarded',
    'mail.failed': 'Email could not be sent',
    'mail.retried': 'Email sent again',
    'plan.created': 'Plan created',
    'plan.deleted': 'Plan deleted',
    'plan.updated': 'Plan changed',
    'protected_app.created': 'Protected app added',
    'protected_app.deleted': 'Protected app deleted',
    'protected_app.updated': 'Protected app changed',
    'session.revoked': 'Session ended',
    'session.revoked_others': 'Other sessions ended',
    'settings.email_test': 'Test email sent',
    'settings.updated': 'Settings changed',
    'setup.completed': 'Setup completed',
    'usage.batch': 'Usage charged (batch)',
    'user.2fa_reset': 'Two-factor authentication reset by an administrator',
    'user.balance_changed': 'Balance changed',
    'user.created': 'Account created',
    'user.created_by_cli': 'Account created on the command line',
    'user.deleted': 'Account deleted',
    'user.password_reset': 'Password reset by an administrator',
    'user.password_reset_by_cli': 'Password reset on the command line',
    'user.recovered_by_cli': 'Administrator recovered on the command line',
    'user.registered_via_provider': 'Registered through an identity provider',
    'user.role_changed': 'Role changed',
    'user.sessions_revoked': 'Sessions ended by an administrator',
    'user.status_changed': 'Status changed',
    'user.unlocked': 'Account unlocked',
    'user.unlocked_by_cli': 'Account unlocked on the command line',
    'user.updated': 'Account changed',
    'users.exported': 'Accounts exported',
    'webhook.created': 'Webhook added',
    'webhook.deleted': 'Webhook deleted',
    'webhook.disabled': 'Webhook turned off after failures',
    'webhook.resent': 'Webhook delivery resent',
    'webhook.secret_rotated': 'Webhook secret replaced',
    'webhook.updated': 'Webhook changed',
  },
  auditActionGroups: {
    user: 'Accounts (by administrators)',
    users: 'Account exports',
    account: 'Own account',
    auth: 'Sign-in',
    session: 'Sessions',
    settings: 'Settings',
    setup: 'Setup',
    identity_provider: 'Identity providers',
    application: 'Applications',
    protected_app: 'Protected apps',
    api_key: 'API keys',
    webhook: 'Webhooks',
    plan: 'Plans',
    usage: 'Usage',
    mail: 'Email',
  },
  auditSettingsGroups: {
    signin: 'Sign-in methods',
    registration: 'Registration',
    email: 'Email',
    'human-verification': 'Human verification',
    security: 'Login security',
    'password-policy': 'Password policy',
    billing: 'Billing',
  },
  auditView: {
    allOf: 'All: {group}',
    anyAction: 'Any action',
    settingsGroup: '{action}: {group}',
    roleChange: 'Role: {from} → {to}',
    statusChange: 'Status: {from} → {to}',
    code: 'Code',
    change: 'Change',
  },
}

const zhCN: Names = {
  auditActions: {
    'account.2fa_disabled': '关闭了两步验证',
    'account.2fa_enabled': '开启了两步验证',
    'account.2fa_recovery_codes_regenerated': '生成了新的恢复码',
    'account.email_change_requested': '申请更改邮箱',
    'account.email_changed': '邮箱地址已更改',
    'account.email_released': '释放了未确认的邮箱地址',
    'account.identity_linked': '关联了身份提供方',
    'account.identity_unlinked': '解除了身份提供方关联',
    'account.passkey_added': '添加了通行密钥',
    'account.passkey_removed': '删除了通行密钥',
    'account.passkey_renamed': '重命名了通行密钥',
    'account.password_changed': '修改了密码',
    'account.profile_updated': '更新了自己的资料',
    'api_key.created': '创建了 API 密钥',
    'api_key.revoked': '吊销了 API 密钥',
    'application.consent': '授权了应用访问',
    'application.created': '创建了应用',
    'application.deleted': '删除了应用',
    'application.grant_revoked': '撤销了应用访问',
    'application.secret_rotated': '更换了应用密钥',
    'application.updated': '修改了应用',
    'auth.account_locked': '登录失败过多，账号已锁定',
    'auth.email_verified': '确认了邮箱地址',
    'auth.login_failed': '登录失败',
    'auth.login_succeeded': '已登录',
    'auth.logout': '已退出登录',
    'auth.mfa_failed': '第二重验证码错误',
    'auth.passkey_used': '使用通行密钥登录',
    'auth.password_reset': '通过邮件链接重置了密码',
    'auth.password_reset_requested': '申请重置密码',
    'auth.reauth_failed': '确认身份时密码错误',
    'auth.registered': '已注册',
    'auth.token_issued': '签发了访问令牌',
    'identity_provider.created': '添加了身份提供方',
    'identity_provider.deleted': '删除了身份提供方',
    'identity_provider.discovered': '读取了身份提供方的发现文档',
    'identity_provider.reordered': '调整了身份提供方顺序',
    'identity_provider.updated': '修改了身份提供方',
    'mail.discarded': '丢弃了邮件',
    'mail.failed': '邮件发送失败',
    'mail.retried': '重新发送了邮件',
    'plan.created': '创建了套餐',
    'plan.deleted': '删除了套餐',
    'plan.updated': '修改了套餐',
    'protected_app.created': '添加了受保护应用',
    'protected_app.deleted': '删除了受保护应用',
    'protected_app.updated': '修改了受保护应用',
    'session.revoked': '结束了会话',
    'session.revoked_others': '结束了其他会话',
    'settings.email_test': '发送了测试邮件',
    'settings.updated': '设置已更改',
    'setup.completed': '完成了初始设置',
    'usage.batch': '按量扣费（批量）',
    'user.2fa_reset': '管理员重置了两步验证',
    'user.balance_changed': '余额已变更',
    'user.created': '创建了账号',
    'user.created_by_cli': '在命令行创建了账号',
    'user.deleted': '删除了账号',
    'user.password_reset': '管理员重置了密码',
    'user.password_reset_by_cli': '在命令行重置了密码',
    'user.recovered_by_cli': '在命令行恢复了管理员',
    'user.registered_via_provider': '通过身份提供方注册',
    'user.role_changed': '角色已更改',
    'user.sessions_revoked': '管理员结束了会话',
    'user.status_changed': '状态已更改',
    'user.unlocked': '账号已解锁',
    'user.unlocked_by_cli': '在命令行解锁了账号',
    'user.updated': '账号已修改',
    'users.exported': '导出了账号',
    'webhook.created': '添加了 Webhook',
    'webhook.deleted': '删除了 Webhook',
    'webhook.disabled': 'Webhook 因多次失败被停用',
    'webhook.resent': '重新发送了 Webhook 投递',
    'webhook.secret_rotated': '更换了 Webhook 密钥',
    'webhook.updated': '修改了 Webhook',
  },
  auditActionGroups: {
    user: '账号（管理员操作）',
    users: '账号导出',
    account: '自己的账号',
    auth: '登录',
    session: '会话',
    settings: '设置',
    setup: '初始设置',
    identity_provider: '身份提供方',
    application: '应用',
    protected_app: '受保护应用',
    api_key: 'API 密钥',
    webhook: 'Webhook',
    plan: '套餐',
    usage: '用量',
    mail: '邮件',
  },
  auditSettingsGroups: {
    signin: '登录方式',
    registration: '注册',
    email: '邮件',
    'human-verification': '人机验证',
    security: '登录安全',
    'password-policy': '密码策略',
    billing: '计费',
  },
  auditView: {
    allOf: '全部：{group}',
    anyAction: '任意操作',
    settingsGroup: '{action}：{group}',
    roleChange: '角色：{from} → {to}',
    statusChange: '状态：{from} → {to}',
    code: '代码',
    change: '变更',
  },
}

export const auditActionMessages: Record<Locale, Names> = { en, 'zh-CN': zhCN }

/** Every action the server writes, in the enum's order. */
export const auditActions = Object.keys(en.auditActions) as AuditAction[]

// vue-i18n reads dots in a key as nesting: "user.created" is stored as
// "user__created".
const keyOf = (action: string): string => action.replace(/\./g, '__')

let registered = false
/** Adds the names to the console's messages (once). */
export function registerAuditActionNames(): void {
  if (registered) return
  registered = true
  for (const locale of supportedLocales) {
    const m = auditActionMessages[locale]
    i18n.global.mergeLocaleMessage(locale, {
      ...m,
      auditActions: Object.fromEntries(Object.entries(m.auditActions).map(([k, v]) => [keyOf(k), v])),
    })
  }
}
registerAuditActionNames()

type Translate = (key: string, named?: Record<string, unknown>) => string
type Has = (key: string) => boolean

/** An action's readable name; the code itself for one this console does not know. */
export function actionName(action: string, t: Translate, te: Has): string {
  const key = `auditActions.${keyOf(action)}`
  return te(key) ? t(key) : action
}

/** The name of a settings group; the group's own name for an unknown one. */
export function settingsGroupName(group: string, t: Translate, te: Has): string {
  const key = `auditSettingsGroups.${group}`
  return te(key) ? t(key) : group
}

/** What the action column shows: the name, and for settings the group that changed. */
export function describeAction(e: { action: string; details?: Record<string, unknown> | null }, t: Translate, te: Has): string {
  const name = actionName(e.action, t, te)
  const group = e.details?.group
  if (e.action === 'settings.updated' && typeof group === 'string' && group) {
    return t('auditView.settingsGroup', { action: name, group: settingsGroupName(group, t, te) })
  }
  return name
}

/** The picker's options: one group per area, each with an "All: area" prefix entry. */
export function actionOptions(t: Translate, te: Has) {
  const byGroup = new Map<string, AuditAction[]>()
  for (const a of auditActions) {
    const g = a.slice(0, a.indexOf('.'))
    byGroup.set(g, [...(byGroup.get(g) ?? []), a])
  }
  return [...byGroup.entries()].map(([g, list]) => {
    const label = te(`auditActionGroups.${g}`) ? t(`auditActionGroups.${g}`) : g
    return {
      type: 'group' as const,
      key: g,
      label,
      children: [
        { label: t('auditView.allOf', { group: label }), value: `${g}.` },
        ...list.map((a) => ({ label: actionName(a, t, te), value: a })),
      ],
    }
  })
}
