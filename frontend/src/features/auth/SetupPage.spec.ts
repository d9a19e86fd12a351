import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent } from 'vue'
import { flushPromises } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { stubFetch } from '@/test/fetch'
import { mountWithApp } from '@/test/mount'
import SetupPage from './SetupPage.vue'

async function mountAt(path: string, locale: 'en' | 'zh-CN' = 'en') {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/setup', name: 'setup', component: SetupPage },
      { path: '/login', name: 'login', component: defineComponent({ template: '<div />' }) },
    ],
  })
  await router.push(path)
  const mounted = mountWithApp(SetupPage, { plugins: [router], locale })
  await flushPromises()
  return { ...mounted, router }
}

async function fill(wrapper: Awaited<ReturnType<typeof mountAt>>['wrapper'], values: Record<string, string>) {
  for (const [id, value] of Object.entries(values)) await wrapper.find(`[data-testid="setup-${id}"]`).setValue(value)
  await wrapper.find('form').trigger('submit')
  await flushPromises()
}

describe('SetupPage', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('explains where the link is when there is no token', async () => {
    const { wrapper } = await mountAt('/setup')
    expect(wrapper.find('[data-testid="setup-no-token"]').text()).toContain('server printed in its log')
    expect(wrapper.find('[data-testid="setup-form"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('checks that the passwords match before calling the API', async () => {
    const calls = stubFetch({})
    const { wrapper } = await mountAt('/setup?token=t0k')
    await fill(wrapper, { username: 'alice', password: 'lantern-orchard-7391', confirm: 'something-else-000' })
    expect(wrapper.text()).toContain('The passwords do not match.')
    // Only the password rules were read (GET /api/auth/options); nothing was sent.
    expect(calls.filter((c) => c.method !== 'GET')).toEqual([])
    wrapper.unmount()
  })

  it('shows API field errors next to the fields', async () => {
    stubFetch({
      'POST /api/setup': {
        status: 422,
        body: { error: { code: 'validation_failed', message: 'Some fields are not valid.', fields: { password: 'must be at least 10 characters' } } },
      },
    })
    const { wrapper } = await mountAt('/setup?token=t0k')
    await fill(wrapper, { username: 'alice', password: 'short', confirm: 'short' })
    expect(wrapper.find('[data-testid="setup-error"]').text()).toBe('Some fields are not valid.')
    expect(wrapper.text()).toContain('must be at least 10 characters')
    wrapper.unmount()
  })

  it('sends the token and optional fields; without a session it goes to sign-in', async () => {
    const calls = stubFetch({ 'POST /api/setup': { status: 201, body: { user: {}, signedIn: false } } })
    const { wrapper, router } = await mountAt('/setup?token=t0k')
    await fill(wrapper, { username: ' alice ', email: '', 'display-name': 'Alice', password: 'lantern-orchard-7391', confirm: 'lantern-orchard-7391' })
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ token: 't0k', username: 'alice', displayName: 'Alice', password: 'lantern-orchard-7391', language: 'en' })
    expect(router.currentRoute.value.fullPath).toBe('/login?setup=done')
    wrapper.unmount()
  })

  it('creates the account in the language of the page (its emails follow it)', async () => {
    const calls = stubFetch({ 'POST /api/setup': { status: 201, body: { user: {}, signedIn: false } } })
    const { wrapper } = await mountAt('/setup?token=t0k', 'zh-CN')
    await fill(wrapper, { username: 'alice', password: 'lantern-orchard-7391', confirm: 'lantern-orchard-7391' })
    expect(calls.find((c) => c.method === 'POST')?.body).toMatchObject({ username: 'alice', language: 'zh-CN' })
    wrapper.unmount()
  })

  it('lands the signed-in super administrator in the console', async () => {
    const calls = stubFetch({
      'POST /api/setup': { status: 201, body: { user: {}, signedIn: true } },
      'GET /api/me': { status: 200, body: { username: 'alice', role: 'super_admin' } },
    })
    const { wrapper, router } = await mountAt('/setup?token=t0k')
    router.addRoute({ path: '/admin/users', name: 'admin-users', component: defineComponent({ template: '<div />' }) })
    await fill(wrapper, { username: 'alice', password: 'lantern-orchard-7391', confirm: 'lantern-orchard-7391' })
    expect(calls.map((c) => `${c.method} ${c.path}`)).toContain('GET /api/me')
    expect(router.currentRoute.value.fullPath).toBe('/admin/users')
    wrapper.unmount()
  })
})
