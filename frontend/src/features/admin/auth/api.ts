// Calls and names of the "Login & auth" settings. Every type comes from the
// generated schema: a group's fields are picked out of SettingsGroup.
import { api, call } from '@/api/client'
import type { components, paths } from '@/api/schema'

export type SettingsGroup = components['schemas']['SettingsGroup']
export type AdminSignIn = components['schemas']['AdminSignIn']
export type SignInPath = AdminSignIn['paths'][number]
export type SettingsGroupName = paths['/api/admin/settings/{group}']['parameters']['path']['group']

type Group<K extends keyof SettingsGroup> = Required<Pick<SettingsGroup, K>>

export type SigninSettings = Group<'usernameEnabled' | 'emailEnabled' | 'thirdPartyEnabled'>
export type RegistrationSettings = Group<
  'emailRegistrationEnabled' | 'requireEmailVerification' | 'allowedDomains' | 'allowSubdomains' | 'blockPlusAliases'
>
export type EmailSettings = Group<'host' | 'port' | 'username' | 'senderName' | 'senderAddress' | 'tlsMode' | 'caCertificate'>
export type HumanVerificationSettings = Group<'turnstileEnabled' | 'siteKey'>
export type SecuritySettings = Group<
  | 'sessionLifetimeSeconds'
  | 'sessionIdleTimeoutSeconds'
  | 'accessTokenLifetimeSeconds'
  | 'lockThreshold'
  | 'lockDurationSeconds'
  | 'rateLimitEnabled'
  | 'rateLimitPerMinute'
  | 'authRateLimitPerMinute'
  | 'requireSecondFactor'
  | 'secondFactorGraceDays'
>
export type PasswordPolicySettings = Group<'minLength' | 'blockCommon' | 'blockPersonalInfo'>

export function getSettings(group: SettingsGroupName) {
  return call(api.GET('/api/admin/settings/{group}', { params: { path: { group } } }))
}

export function putSettings(group: SettingsGroupName, body: SettingsGroup) {
  return call(api.PUT('/api/admin/settings/{group}', { params: { path: { group } }, body }))
}

/** PUT ?dryRun=true: the write's own checks and answer, nothing stored. */
export function previewSettings(group: SettingsGroupName, body: SettingsGroup) {
  return call(api.PUT('/api/admin/settings/{group}', { params: { path: { group }, query: { dryRun: true } }, body }))
}

export function sendTestEmail(to: string) {
  return call(api.POST('/api/admin/settings/email/test', { body: { to } }))
}
