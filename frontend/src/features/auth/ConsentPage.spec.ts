import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { stubFetch } from '@/test/fetch'
import { mountWithApp } from '@/test/mount'
import ConsentPage from './ConsentPage.vue'

const request = {
  requestId: 'req-1',
  application: { clientId: 'c1', name: 'Partner', logoUrl: '' },
  scopes: ['openid', 'email', 'offline_access'],
  redirectHost: 'rp.example.com',
}

async function mountAt(path: string, locale: 'en' | 'zh-CN' = 'en') {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/consent', component: ConsentPage }] })
  await router.push(path)
  await router.isReady()
  const m = mountWithApp(ConsentPage, { plugins: [router], locale })
  await flushPromises()
  return m
}

describe('ConsentPage', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('names the app and says in words what each scope lets it see (en and zh-CN)', async () => {
    stubFetch({ 'GET /api/oauth/consent/req-1': { status: 200, body: request } })
    const en = await mountAt('/consent?request=req-1')
    expect(en.wrapper.get('h1').text()).toBe('Allow Partner?')
    expect(en.wrapper.findAll('li').map((li) => li.text())).toEqual([
      'Know who you are (your account’s ID)',
      'See your email address and whether it is confirmed',
      'Stay signed in when you are not using it',
    ])
    expect(en.wrapper.text()).toContain('You will be sent back to rp.example.com.')
    en.wrapper.unmount()
    const zh = await mountAt('/consent?request=req-1', 'zh-CN')
    expect(zh.wrapper.get('h1').text()).toBe('允许 Partner？')
    expect(zh.wrapper.findAll('li')[1]!.text()).toBe('查看你的邮箱地址及其是否已确认')
    zh.wrapper.unmount()
  })

  it('Deny posts approve=false and follows the answer to the application', async () => {
    const calls = stubFetch({
      'GET /api/oauth/consent/req-1': { status: 200, body: request },
      'POST /api/oauth/consent/req-1': { status: 200, body: { redirectUrl: 'https://rp.example.com/cb?error=access_denied&state=s' } },
    })
    const assign = vi.fn()
    vi.stubGlobal('location', { ...window.location, assign })
    const { wrapper } = await mountAt('/consent?request=req-1')
    await wrapper.get('[data-testid="consent-deny"]').trigger('click')
    await flushPromises()
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ approve: false })
    expect(assign).toHaveBeenCalledWith('https://rp.example.com/cb?error=access_denied&state=s')
    wrapper.unmount()
  })

  it('an unknown or expired request says so', async () => {
    stubFetch({})
    const { wrapper } = await mountAt('/consent?request=gone')
    expect(wrapper.find('[data-testid="consent-error"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="consent-allow"]').exists()).toBe(false)
    wrapper.unmount()
  })
})
