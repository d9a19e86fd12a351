// Calls of the Webhooks page.
import { api, call } from '@/api/client'
import type { components } from '@/api/schema'

export type WebhookEndpoint = components['schemas']['WebhookEndpoint']
export type WebhookEndpointInput = components['schemas']['WebhookEndpointInput']
export type WebhookEventType = components['schemas']['WebhookEventType']
export type WebhookDelivery = components['schemas']['WebhookDelivery']

export function listWebhooks() {
  return call(api.GET('/api/admin/webhooks'))
}

export function createWebhook(body: WebhookEndpointInput) {
  return call(api.POST('/api/admin/webhooks', { body }))
}

export function updateWebhook(id: string, body: WebhookEndpointInput) {
  return call(api.PATCH('/api/admin/webhooks/{id}', { params: { path: { id } }, body }))
}

export function deleteWebhook(id: string) {
  return call(api.DELETE('/api/admin/webhooks/{id}', { params: { path: { id } } }))
}

export function rotateWebhookSecret(id: string) {
  return call(api.POST('/api/admin/webhooks/{id}/rotate-secret', { params: { path: { id } } }))
}

export function listDeliveries(id: string, page: number, perPage: number) {
  return call(api.GET('/api/admin/webhooks/{id}/deliveries', { params: { path: { id }, query: { page, perPage } } }))
}

export function resendDelivery(id: string, deliveryId: number) {
  return call(api.POST('/api/admin/webhooks/{id}/deliveries/{deliveryId}/resend', { params: { path: { id, deliveryId: String(deliveryId) } } }))
}
