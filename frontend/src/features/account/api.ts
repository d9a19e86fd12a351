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

export function setupTwoFactor() {
  return call(api.POST('/api/me/2fa/setup'))
}

export function enableTwoFactor(code: string) {
  return call(api.POST('/api/me/2fa/enable', { body: { code } }))
}

export function disableTwoFactor(password: string, code: string) {
  return call(api.POST('/api/me/2fa/disable', { body: { password, code } }))
}

export function regenerateRecoveryCodes(password: string, code: string) {
  return call(api.POST('/api/me/2fa/recovery-codes', { body: { password, code } }))
}
