import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import type { User } from '@/api/types'
import { resetSessionStore, setUser } from '@/stores/session'
import { stubFetch } from '@/test/fetch'
import { mountWithApp } from '@/test/mount'
import WebhooksPage from './WebhooksPage.vue'

const root = { username: 'root', displayName: 'Root', role: 'super_admin', language: 'zh-CN', timezone: 'UTC' } as User

// The server's answer to a receiver URL that is not https: the English
// field message beside its code (problem/codes.go).
const refused = {
  status: 422,
  body: {
    error: {
      code: 'validation_failed',
      message: 'Some fields are not valid.',
      fields: { url: 'must be an absolute https URL', events: 'must not be empty' },
      fieldErrors: { url: { code: 'https_url' }, events: { code: 'required' } },
    },
  },
}

function formItemText(label: string): string {
  const input = document.body.querySelector(`input[aria-label="${label}"]`)
  return input?.closest('.n-form-item')?.textContent ?? ''
}

describe('WebhooksPage', () => {
  beforeEach(() => {
    resetSessionStore()
    setUser(root)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('shows the field errors of a refused endpoint in the console language, not the server English', async () => {
    stubFetch({
      'GET /api/admin/webhooks': { status: 200, body: { items: [], eventTypes: ['account.created'] } },
      'POST /api/admin/webhooks': refused,
    })
    const { wrapper, i18n } = mountWithApp(WebhooksPage, { locale: 'zh-CN' })
    await flushPromises()
    ;(document.body.querySelector('[data-testid="webhook-add"]') as HTMLElement).click()
    await flushPromises()
    const url = document.body.querySelector(`input[aria-label="${i18n.global.t('webhooks.url')}"]`) as HTMLInputElement
    url.value = 'http://hooks.example.com/in'
    url.dispatchEvent(new Event('input'))
    document.body.querySelector('form')!.dispatchEvent(new Event('submit'))
    await flushPromises()
    const text = formItemText(i18n.global.t('webhooks.url'))
    expect(text).toContain(i18n.global.t('fieldErrors.https_url'))
    expect(text).toContain('https')
    expect(text).not.toContain('must be')
    expect(document.body.textContent).not.toContain('must not be empty')
    expect(document.body.textContent).toContain(i18n.global.t('fieldErrors.required'))
    wrapper.unmount()
  })

  it('drops a field error once the value changes', async () => {
    stubFetch({
      'GET /api/admin/webhooks': { status: 200, body: { items: [], eventTypes: ['account.created'] } },
      'POST /api/admin/webhooks': refused,
    })
    const { wrapper, i18n } = mountWithApp(WebhooksPage, { locale: 'en' })
    await flushPromises()
    ;(document.body.querySelector('[data-testid="webhook-add"]') as HTMLElement).click()
    await flushPromises()
    document.body.querySelector('form')!.dispatchEvent(new Event('submit'))
    await flushPromises()
    expect(formItemText(i18n.global.t('webhooks.url'))).toContain(i18n.global.t('fieldErrors.https_url'))
    const url = document.body.querySelector(`input[aria-label="${i18n.global.t('webhooks.url')}"]`) as HTMLInputElement
    url.value = 'https://hooks.example.com/in'
    url.dispatchEvent(new Event('input'))
    await flushPromises()
    expect(formItemText(i18n.global.t('webhooks.url'))).not.toContain(i18n.global.t('fieldErrors.https_url'))
    expect(formItemText(i18n.global.t('webhooks.url'))).toContain(i18n.global.t('webhooks.urlHelp'))
    wrapper.unmount()
  })

  it('words each failed delivery from its reason code in the console language, not the server English', async () => {
    const endpoint = {
      id: 'whe_1', url: 'https://hooks.example.com/in', description: '', events: ['account.created'], enabled: true, disabledReason: '',
      failures: 3, rotating: false, previousSecretUntil: null, createdAt: '2026-12-01T10:00:00Z', updatedAt: '2026-12-01T10:00:00Z',
    }
    const delivery = (id: number, code: string, params: Record<string, unknown>, lastError: string, responseCode = 0) => ({
      id, messageId: `msg_${id}`, type: 'account.created', status: 'pending', attempts: 2, responseCode, lastError, lastErrorCode: code,
      lastErrorParams: params, durationMs: 12, lastAttemptAt: '2026-12-01T10:00:00Z', nextAttemptAt: '2026-12-01T10:01:00Z',
      createdAt: '2026-12-01T10:00:00Z', deliveredAt: null, payload: '{}',
    })
    stubFetch({
      'GET /api/admin/webhooks': { status: 200, body: { items: [endpoint], eventTypes: ['account.created'] } },
      'GET /api/admin/webhooks/whe_1/deliveries': {
        status: 200,
        body: {
          items: [
            delivery(1, 'bad_status', { status: 503 }, 'The receiver answered HTTP 503.', 503),
            delivery(2, 'connection_refused', {}, 'The server could not be reached. Check the address and that it is running.'),
            delivery(3, 'timeout', {}, 'The server did not answer in time.'),
            delivery(4, '', {}, 'Some text from before reason codes.'),
          ],
          total: 4, page: 1, perPage: 25,
        },
      },
    })
    const { wrapper, i18n } = mountWithApp(WebhooksPage, { locale: 'zh-CN' })
    await flushPromises()
    ;(document.body.querySelector(`[aria-label="${i18n.global.t('webhooks.deliveries')} ${endpoint.url}"]`) as HTMLElement).click()
    await flushPromises()
    const log = document.body.querySelector('[data-testid="webhook-log"]')!.textContent ?? ''
    expect(log).toContain(i18n.global.t('webhooks.log.reasons.bad_status', { status: 503 }))
    expect(log).toContain('503')
    expect(log).toContain(i18n.global.t('webhooks.log.reasons.connection_refused'))
    expect(log).toContain(i18n.global.t('webhooks.log.reasons.timeout'))
    expect(log).not.toContain('The receiver answered')
    expect(log).not.toContain('could not be reached')
    expect(log).not.toContain('did not answer in time')
    // A delivery recorded before reason codes keeps its English text.
    expect(log).toContain('Some text from before reason codes.')
    expect(i18n.global.t('webhooks.log.reasons.bad_status', { status: 503 })).toContain('接收方')
    wrapper.unmount()
  })
})
