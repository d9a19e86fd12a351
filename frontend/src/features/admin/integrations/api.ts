// Calls of the Integrations page: the mail outbox.
import { api, call } from '@/api/client'
import type { components, paths } from '@/api/schema'

export type OutboxMail = components['schemas']['OutboxMail']
export type OutboxQuery = NonNullable<paths['/api/admin/outbox']['get']['parameters']['query']>
export type OutboxStatus = OutboxMail['status']

export function listOutbox(query: OutboxQuery) {
  return call(api.GET('/api/admin/outbox', { params: { query } }))
}

export function retryOutboxMail(id: number) {
  return call(api.POST('/api/admin/outbox/{id}/retry', { params: { path: { id } } }))
}

export function discardOutboxMail(id: number) {
  return call(api.POST('/api/admin/outbox/{id}/discard', { params: { path: { id } } }))
}
