// Calls of the Applications page: protected apps (forward auth).
import { api, call } from '@/api/client'
import type { components } from '@/api/schema'

export type ProtectedApp = components['schemas']['ProtectedApp']
export type ProtectedAppInput = components['schemas']['ProtectedAppInput']

export function listProtectedApps() {
  return call(api.GET('/api/admin/protected-apps'))
}

export function createProtectedApp(body: ProtectedAppInput) {
  return call(api.POST('/api/admin/protected-apps', { body }))
}

export function updateProtectedApp(id: number, body: components['schemas']['ProtectedAppPatch']) {
  return call(api.PATCH('/api/admin/protected-apps/{id}', { params: { path: { id } }, body }))
}

export function deleteProtectedApp(id: number) {
  return call(api.DELETE('/api/admin/protected-apps/{id}', { params: { path: { id } } }))
}

/** The hosts typed in the editor, one a line (commas and spaces also split). */
export function parseHosts(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((h) => h.trim())
    .filter((h) => h !== '')
}

// OpenID applications (OAuth clients signing people in through Gatehouse).
export type OidcApp = components['schemas']['Application']
export type OidcAppInput = components['schemas']['ApplicationInput']

export function listOidcApps() {
  return call(api.GET('/api/admin/applications'))
}

export function createOidcApp(body: OidcAppInput) {
  return call(api.POST('/api/admin/applications', { body }))
}

export function updateOidcApp(id: number, body: OidcAppInput) {
  return call(api.PATCH('/api/admin/applications/{id}', { params: { path: { id } }, body }))
}

export function deleteOidcApp(id: number) {
  return call(api.DELETE('/api/admin/applications/{id}', { params: { path: { id } } }))
}

export function rotateOidcAppSecret(id: number, overlapSeconds: number) {
  return call(api.POST('/api/admin/applications/{id}/secret', { params: { path: { id } }, body: { overlapSeconds } }))
}

/** The URIs typed in the editor, one a line (spaces also split; commas may appear in URIs). */
export function parseLines(text: string): string[] {
  return text
    .split(/\s+/)
    .map((u) => u.trim())
    .filter((u) => u !== '')
}
