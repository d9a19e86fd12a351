// Calls of the API keys page.
import { api, call } from '@/api/client'
import type { components } from '@/api/schema'

export type ApiKey = components['schemas']['ApiKey']
export type ApiKeyScope = components['schemas']['ApiKeyScope']

export const scopes: ApiKeyScope[] = ['users:read', 'users:write', 'billing:read', 'billing:charge', 'audit:read']

export function listApiKeys() {
  return call(api.GET('/api/admin/api-keys'))
}

export function createApiKey(body: { name: string; scopes: ApiKeyScope[]; expiresAt?: string | null; allowedIps?: string[] }) {
  return call(api.POST('/api/admin/api-keys', { body }))
}

export function revokeApiKey(id: number) {
  return call(api.POST('/api/admin/api-keys/{id}/revoke', { params: { path: { id } }, body: {} }))
}
