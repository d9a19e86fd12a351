import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { mountWithApp } from '@/test/mount'
import ExportDialog from './ExportDialog.vue'

describe('ExportDialog', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('words a refused export by its code in the console language, not the server English', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'Too many requests; try again in a minute.' } }), {
          status: 429,
          headers: { 'Content-Type': 'application/json' },
        }),
      ),
    )
    const { wrapper, i18n } = mountWithApp(ExportDialog, { props: { show: true, url: '/api/admin/users/export' }, locale: 'zh-CN' })
    await flushPromises()
    const alert = document.body.querySelector('[data-testid="export-error"]')?.textContent ?? ''
    expect(alert).toContain(i18n.global.t('apiErrors.rate_limited'))
    expect(alert).toContain('429')
    expect(alert).not.toContain('Too many requests')
    wrapper.unmount()
  })

  it('says only the status for an answer that is not the API error shape', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })))
    const { wrapper, i18n } = mountWithApp(ExportDialog, { props: { show: true, url: '/api/admin/users/export' }, locale: 'zh-CN' })
    await flushPromises()
    const alert = document.body.querySelector('[data-testid="export-error"]')?.textContent ?? ''
    expect(alert).toContain(i18n.global.t('errors.unknown', { status: 502 }))
    expect(alert).not.toContain('Bad')
    wrapper.unmount()
  })
})
