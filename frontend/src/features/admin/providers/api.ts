// Calls of identity providers: the admin list and editor, and linking on
// the account page. Every type comes from the generated schema.
import { api, call, networkError, toApiError } from '@/api/client'
import type { components } from '@/api/schema'

type Schemas = components['schemas']
export type IdentityProvider = Schemas['IdentityProvider']
export type ProviderInput = Schemas['IdentityProviderInput']
export type FieldMapping = Schemas['FieldMapping']
export type ProviderImpact = Schemas['ProviderImpact']
export type LinkedIdentity = Schemas['LinkedIdentity']
export type ProviderButton = Schemas['ProviderButton']

export async function listProviders(): Promise<IdentityProvider[]> {
  return (await call(api.GET('/api/admin/identity-providers'))).items
}

export function createProvider(body: ProviderInput) {
  return call(api.POST('/api/admin/identity-providers', { body }))
}

export function updateProvider(id: number, body: ProviderInput) {
  return call(api.PATCH('/api/admin/identity-providers/{id}', { params: { path: { id: String(id) } }, body }))
}

export async function reorderProviders(ids: number[]): Promise<IdentityProvider[]> {
  return (await call(api.POST('/api/admin/identity-providers/order', { body: { ids } }))).items
}

export function discoverProvider(issuerUrl: string) {
  return call(api.POST('/api/admin/identity-providers/discover', { body: { issuerUrl } }))
}

/**
 * Deletes a provider. Without confirm, a provider with linked accounts is
 * not deleted: the answer is its impact report instead.
 */
export async function deleteProvider(id: number, confirm: boolean): Promise<{ deleted: true } | { deleted: false; impact: ProviderImpact }> {
  let res
  try {
    res = await api.DELETE('/api/admin/identity-providers/{id}', {
      params: { path: { id: String(id) }, query: confirm ? { confirm: 'true' } : {} },
    })
  } catch {
    throw networkError()
  }
  if (res.response.ok) return { deleted: true }
  const body = res.error as Schemas['ProviderInUseError'] | undefined
  if (res.response.status === 409 && body?.error?.code === 'provider_in_use' && body.error.impact) {
    return { deleted: false, impact: body.error.impact }
  }
  throw toApiError(res.response.status, res.error)
}

export function listMyIdentities() {
  return call(api.GET('/api/me/identities'))
}

/** Starts linking; the browser must then go to the answered URL. */
/** Starts a link; the current password confirms it (none for accounts without one). */
export async function startLink(slug: string, password?: string): Promise<string> {
  return (await call(api.POST('/api/me/identities/{slug}/link', { params: { path: { slug } }, body: password ? { password } : {} }))).redirectUrl
}

export function unlinkIdentity(id: number) {
  return call(api.DELETE('/api/me/identities/{id}', { params: { path: { id: String(id) } } }))
}
