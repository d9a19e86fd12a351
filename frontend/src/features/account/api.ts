// Calls of the account area (the signed-in user's own data).
import { api, call } from '@/api/client'
import type { ChangePasswordRequest, UpdateMeRequest } from '@/api/types'

export function updateMe(body: UpdateMeRequest) {
  return call(api.PATCH('/api/me', { body }))
}

export function changePassword(body: ChangePasswordRequest) {
  return call(api.POST('/api/me/password', { body }))
}

export async function listMySessions() {
  return (await call(api.GET('/api/me/sessions'))).items
}

export function revokeMySession(id: string) {
  return call(api.DELETE('/api/me/sessions/{id}', { params: { path: { id } } }))
}

export function revokeMyOtherSessions() {
  return call(api.DELETE('/api/me/sessions'))
}

// Two-factor authentication and email change.
export function changeMyEmail(email: string, password?: string) {
  return call(api.POST('/api/me/email', { body: password ? { email, password } : { email } }))
}

// Adding a way in (2FA) needs the current password; accounts without one
// send none and must have signed in within the last 5 minutes.
export function setupTwoFactor(password?: string) {
  return call(api.POST('/api/me/2fa/setup', { body: password ? { password } : {} }))
}

export function enableTwoFactor(code: string, password?: string) {
  return call(api.POST('/api/me/2fa/enable', { body: password ? { code, password } : { code } }))
}

export function disableTwoFactor(password: string, code: string) {
  return call(api.POST('/api/me/2fa/disable', { body: password ? { password, code } : { code } }))
}

export function regenerateRecoveryCodes(password: string, code: string) {
  return call(api.POST('/api/me/2fa/recovery-codes', { body: password ? { password, code } : { code } }))
}

// Passkeys: adding and removing one needs the current password, as 2FA does.
export async function listMyPasskeys() {
  return (await call(api.GET('/api/me/passkeys'))).items
}

export function passkeyRegistrationOptions(password?: string) {
  return call(api.POST('/api/me/passkeys/options', { body: password ? { password } : {} }))
}

export function addPasskey(ceremony: string, name: string, credential: Record<string, unknown>) {
  return call(api.POST('/api/me/passkeys', { body: { ceremony, name, credential } }))
}

export function renamePasskey(id: string, name: string) {
  return call(api.PATCH('/api/me/passkeys/{id}', { params: { path: { id } }, body: { name } }))
}

export function removePasskey(id: string, password?: string) {
  return call(api.DELETE('/api/me/passkeys/{id}', { params: { path: { id } }, body: password ? { password } : {} }))
}

export async function listMySignIns() {
  return (await call(api.GET('/api/me/sign-ins'))).items
}
