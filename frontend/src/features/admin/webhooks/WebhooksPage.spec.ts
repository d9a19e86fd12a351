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
})
