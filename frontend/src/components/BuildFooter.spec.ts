import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { mountWithApp } from '@/test/mount'
import { stubFetch } from '@/test/fetch'
import BuildFooter from './BuildFooter.vue'

describe('BuildFooter', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('names the version, the short commit and the build date from /api/health', async () => {
    stubFetch({ 'GET /api/health': { status: 200, body: { status: 'ok', version: 'v1.2.3', commit: '0123456789abcdef', built: '2026-11-30T12:00:00Z' } } })
    const { wrapper } = mountWithApp(BuildFooter)
    await flushPromises()
    const text = wrapper.find('[data-testid="build-footer"]').text()
    expect(text).toContain('Gatehouse v1.2.3')
    expect(text).toContain('0123456789ab')
    expect(text).not.toContain('0123456789abcdef')
    expect(text).toContain('2026-11-30')
    wrapper.unmount()
  })

  it('says the same in Chinese', async () => {
    stubFetch({ 'GET /api/health': { status: 200, body: { status: 'ok', version: 'v1.2.3', commit: 'abc', built: '2026-11-30T12:00:00Z' } } })
    const { wrapper } = mountWithApp(BuildFooter, { locale: 'zh-CN' })
    await flushPromises()
    expect(wrapper.find('[data-testid="build-footer"]').text()).toContain('构建于')
    wrapper.unmount()
  })
})
