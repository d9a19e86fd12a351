// Readable names of the audit actions (the AuditAction enum of the OpenAPI
// document) and of the settings groups, in each language (actionMessages.ts).
// They are merged into the console's messages when the audit screen or the
// user editor loads, so that the first page of the console does not carry them.
// actions.spec.ts checks that every action has a name in both languages.
import type { components } from '@/api/schema'
import { i18n, supportedLocales } from '@/i18n'
import { auditActionMessages } from './actionMessages'

export { auditActionMessages }

export type AuditAction = components['schemas']['AuditAction']

/** Every action the server writes, in the enum's order. */
export const auditActions = Object.keys(auditActionMessages.en.auditActions) as AuditAction[]

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
