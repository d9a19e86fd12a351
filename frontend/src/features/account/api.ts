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
