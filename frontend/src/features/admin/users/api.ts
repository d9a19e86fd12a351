// Calls of the Accounts area and the Billing page (all through the one client).
import { api, call } from '@/api/client'
import type {
  BalanceRequest,
  BulkRequest,
  CreateUserRequest,
  ExportQuery,
  PlanInput,
  PlanPatch,
  ResetPasswordRequest,
  SettingsGroup,
  StatusRequest,
  UpdateUserRequest,
  UserListQuery,
} from './types'

/** fetch: how to send it (fetchEarlyFirst for the first page early.js may have asked for). */
export function listUsers(query: UserListQuery, fetch?: (input: Request) => Promise<Response>) {
  return call(api.GET('/api/admin/users', { params: { query }, fetch }))
}

export function createUser(body: CreateUserRequest) {
  return call(api.POST('/api/admin/users', { body }))
}

export function getUser(publicId: string) {
  return call(api.GET('/api/admin/users/{publicId}', { params: { path: { publicId } } }))
}

export function updateUser(publicId: string, body: UpdateUserRequest) {
  return call(api.PATCH('/api/admin/users/{publicId}', { params: { path: { publicId } }, body }))
}

export function deleteUser(publicId: string, confirm: string, reason: string) {
  const query = reason ? { confirm, reason } : { confirm }
  return call(api.DELETE('/api/admin/users/{publicId}', { params: { path: { publicId }, query } }))
}

export function setUserStatus(publicId: string, body: StatusRequest) {
  return call(api.POST('/api/admin/users/{publicId}/status', { params: { path: { publicId } }, body }))
}

export function changeBalance(publicId: string, body: BalanceRequest) {
  return call(api.POST('/api/admin/users/{publicId}/balance', { params: { path: { publicId } }, body }))
}

export function listLedger(publicId: string, page: number, perPage: number) {
  return call(api.GET('/api/admin/users/{publicId}/ledger', { params: { path: { publicId }, query: { page, perPage } } }))
}

export async function listUserSessions(publicId: string) {
  return (await call(api.GET('/api/admin/users/{publicId}/sessions', { params: { path: { publicId } } }))).items
}

export async function listUserIdentities(publicId: string) {
  return (await call(api.GET('/api/admin/users/{publicId}/identities', { params: { path: { publicId } } }))).items
}

export function unlinkUserIdentity(publicId: string, id: number, reason: string) {
  return call(api.POST('/api/admin/users/{publicId}/identities/{id}/unlink', { params: { path: { publicId, id } }, body: { reason } }))
}

export function revokeUserSessions(publicId: string, reason: string, sessionId?: string) {
  const body = sessionId ? { sessionId, reason } : { reason }
  return call(api.POST('/api/admin/users/{publicId}/revoke-sessions', { params: { path: { publicId } }, body }))
}

export function unlockUser(publicId: string, reason: string) {
  return call(api.POST('/api/admin/users/{publicId}/unlock', { params: { path: { publicId } }, body: { reason } }))
}

export function resetPassword(publicId: string, body: ResetPasswordRequest) {
  return call(api.POST('/api/admin/users/{publicId}/reset-password', { params: { path: { publicId } }, body }))
}

export function resetTwoFactor(publicId: string, reason: string) {
  return call(api.POST('/api/admin/users/{publicId}/reset-2fa', { params: { path: { publicId } }, body: { reason } }))
}

export function bulkUsers(body: BulkRequest) {
  return call(api.POST('/api/admin/users/bulk', { body }))
}

/**
 * The address of the CSV export for the given filters (downloaded by
 * fetchExport in exportCsv.ts, which shows progress and refuses to save a
 * file the server marked incomplete).
 */
export function exportUrl(query: ExportQuery): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const path: keyof import('@/api/schema').paths = '/api/admin/users/export.csv'
  const qs = params.toString()
  return qs ? `${path}?${qs}` : path
}

export async function getBillingSettings() {
  return call(api.GET('/api/admin/settings/{group}', { params: { path: { group: 'billing' } } }))
}

export function putBillingSettings(body: SettingsGroup) {
  return call(api.PUT('/api/admin/settings/{group}', { params: { path: { group: 'billing' } }, body }))
}

export async function listPlans() {
  return (await call(api.GET('/api/admin/plans'))).items
}

export function createPlan(body: PlanInput) {
  return call(api.POST('/api/admin/plans', { body }))
}

export function updatePlan(id: number, body: PlanPatch) {
  return call(api.PATCH('/api/admin/plans/{id}', { params: { path: { id } }, body }))
}

export function deletePlan(id: number) {
  return call(api.DELETE('/api/admin/plans/{id}', { params: { path: { id } } }))
}

export async function listUserSignIns(publicId: string) {
  return (await call(api.GET('/api/admin/users/{publicId}/sign-ins', { params: { path: { publicId } } }))).items
}
