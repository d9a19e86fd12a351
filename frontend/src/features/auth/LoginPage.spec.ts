import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent } from 'vue'
import { flushPromises } from '@vue/test-utils'
import { createMemoryHistory, createRouter, type Router } from 'vue-router'
import type { User } from '@/api/types'
import { resetSessionStore, useSession } from '@/stores/session'
import { stubFetch } from '@/test/fetch'
import { mountWithApp } from '@/test/mount'
import { resetPrefetch } from '@/stores/prefetch'
import LoginPage from './LoginPage.vue'
import { prefetchAuthOptions } from './options'

const Stub = defineComponent({ template: '<div />' })

function makeRouter(): Router {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/login', name: 'login', component: LoginPage },
      { path: '/account/profile', name: 'account-profile', component: Stub },
      { path: '/account/security', name: 'account-security', component: Stub },
      { path: '/admin/users', name: 'admin-users', component: Stub },
      { path: '/forgot-password', name: 'forgot-password', component: Stub },
      { path: '/register', name: 'register', component: Stub },
      { path: '/check-email', name: 'check-email', component: Stub },
    ],
  })
}

const options = { usernameEnabled: true, emailEnabled: false, thirdPartyEnabled: false, registrationEnabled: false, providers: [] }

function user(role: User['role']): User {
  return { username: 'alice', role } as User
}

async function mountAt(path: string) {
  const router = makeRouter()
  await router.push(path)
  const mounted = mountWithApp(LoginPage, { plugins: [router] })
  await flushPromises()
  return { ...mounted, router }
}

async function signIn(wrapper: Awaited<ReturnType<typeof mountAt>>['wrapper'], id: string, pw: string) {
  await wrapper.find('[data-testid="login-identifier"]').setValue(id)
  await wrapper.find('[data-testid="login-password"]').setValue(pw)
  await wrapper.find('form').trigger('submit')
  await flushPromises()
}

describe('LoginPage', () => {
  beforeEach(() => {
    resetSessionStore()
    resetPrefetch()
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('labels the field from /api/auth/options', async () => {
    stubFetch({ 'GET /api/auth/options': { status: 200, body: options } })
    const { wrapper } = await mountAt('/login')
    expect(wrapper.find('[data-testid="login-identifier-item"] label').text()).toBe('Username')
    wrapper.unmount()
  })

  it('links to password reset, and to registration only while it is open', async () => {
    stubFetch({ 'GET /api/auth/options': { status: 200, body: options } })
    const closed = await mountAt('/login')
    expect(closed.wrapper.find('[data-testid="link-forgot"]').attributes('href')).toBe('/forgot-password')
    expect(closed.wrapper.find('[data-testid="link-register"]').exists()).toBe(false)
    closed.wrapper.unmount()

    stubFetch({ 'GET /api/auth/options': { status: 200, body: { ...options, registrationEnabled: true } } })
    const open = await mountAt('/login')
    expect(open.wrapper.find('[data-testid="link-register"]').attributes('href')).toBe('/register')
    open.wrapper.unmount()
  })

  it('shows the message of a failed sign-in, in the console’s words for its code', async () => {
    stubFetch({
      'GET /api/auth/options': { status: 200, body: options },
      'POST /api/auth/login': { status: 401, body: { error: { code: 'invalid_credentials', message: 'Wrong name or password.' } } },
    })
    const { wrapper, router } = await mountAt('/login')
    await signIn(wrapper, 'alice', 'nope-nope-nope')
    expect(wrapper.find('[data-testid="login-error"]').text()).toBe('The sign-in name or password is incorrect.')
    expect(router.currentRoute.value.name).toBe('login')
    wrapper.unmount()
  })

  it('after a right password, says the account is suspended, in the chosen language', async () => {
    for (const [locale, text] of [['en', 'Contact an administrator'], ['zh-CN', '请联系管理员']] as const) {
      stubFetch({
        'GET /api/auth/options': { status: 200, body: options },
        'POST /api/auth/login': { status: 403, body: { error: { code: 'account_suspended', message: 'This account is suspended.' } } },
      })
      const router = makeRouter()
      await router.push('/login')
      const { wrapper } = mountWithApp(LoginPage, { plugins: [router], locale })
      await flushPromises()
      await signIn(wrapper, 'bob', 'right-password-1')
      expect(wrapper.find('[data-testid="login-error"]').text()).toContain(text)
      expect(wrapper.find('[data-testid="link-resend-verification"]').exists()).toBe(false)
      wrapper.unmount()
    }
  })

  it('offers the resend link to an unconfirmed account', async () => {
    stubFetch({
      'GET /api/auth/options': { status: 200, body: { ...options, emailEnabled: true } },
      'POST /api/auth/login': { status: 403, body: { error: { code: 'email_unverified', message: 'Confirm your email address first.' } } },
    })
    const { wrapper } = await mountAt('/login')
    await signIn(wrapper, 'dan@example.com', 'right-password-1')
    expect(wrapper.find('[data-testid="login-error"]').text()).toContain('Confirm your email address')
    expect(wrapper.find('[data-testid="link-resend-verification"]').attributes('href')).toBe('/check-email?email=dan@example.com')
    wrapper.unmount()
  })

  it('goes to a safe next, and records the user', async () => {
    const calls = stubFetch({
      'GET /api/auth/options': { status: 200, body: options },
      'POST /api/auth/login': { status: 200, body: { user: user('user') } },
    })
    const { wrapper, router } = await mountAt('/login?next=/account/security')
    await signIn(wrapper, ' alice ', 'pw-pw-pw-pw')
    expect(calls.find((c) => c.path === '/api/auth/login')?.body).toEqual({ identifier: 'alice', password: 'pw-pw-pw-pw' })
    expect(router.currentRoute.value.fullPath).toBe('/account/security')
    expect(useSession().user.value?.username).toBe('alice')
    wrapper.unmount()
  })

  it.each([
    ['admin', '/login?next=//evil.example', '/admin/users'],
    ['super_admin', '/login', '/admin/users'],
    ['user', '/login?next=https://evil.example/', '/account/profile'],
  ] as const)('sends a %s from %s to %s', async (role, from, to) => {
    stubFetch({
      'GET /api/auth/options': { status: 200, body: options },
      'POST /api/auth/login': { status: 200, body: { user: user(role) } },
    })
    const { wrapper, router } = await mountAt(from)
    await signIn(wrapper, 'alice', 'pw-pw-pw-pw')
    expect(router.currentRoute.value.fullPath).toBe(to)
    wrapper.unmount()
  })

  it('asks for a second factor when the API says so', async () => {
    const calls = stubFetch({
      'GET /api/auth/options': { status: 200, body: options },
      'POST /api/auth/login': { status: 200, body: { mfaRequired: true } },
      'GET /api/auth/mfa': { status: 200, body: { methods: ['totp'] } },
      'POST /api/auth/mfa': { status: 200, body: { user: user('user') } },
    })
    const { wrapper, router } = await mountAt('/login')
    await signIn(wrapper, 'alice', 'pw-pw-pw-pw')
    expect(wrapper.find('[data-testid="mfa-code"]').exists()).toBe(true)
    expect(router.currentRoute.value.name).toBe('login')
    await wrapper.find('[data-testid="mfa-code"]').setValue('123 456')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(calls.find((c) => c.method === 'POST' && c.path === '/api/auth/mfa')?.body).toEqual({ code: '123456' })
    expect(router.currentRoute.value.fullPath).toBe('/account/profile')
    wrapper.unmount()
  })

  it('renders the final form at once when the router already has the options', async () => {
    const calls = stubFetch({ 'GET /api/auth/options': { status: 200, body: { ...options, registrationEnabled: true } } })
    prefetchAuthOptions()
    await flushPromises()
    const router = makeRouter()
    await router.push('/login')
    const { wrapper } = mountWithApp(LoginPage, { plugins: [router] })
    // No await: this is the first render.
    expect(wrapper.find('[data-testid="login-loading"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="login-identifier-item"] label').text()).toBe('Username')
    expect(wrapper.find('[data-testid="link-register"]').exists()).toBe(true)
    expect(calls.filter((c) => c.path === '/api/auth/options')).toHaveLength(1)
    wrapper.unmount()
  })

  it('shows a spinner until the options arrive when they were not started', async () => {
    stubFetch({ 'GET /api/auth/options': { status: 200, body: options } })
    const router = makeRouter()
    await router.push('/login')
    const { wrapper } = mountWithApp(LoginPage, { plugins: [router] })
    expect(wrapper.find('[data-testid="login-loading"]').exists()).toBe(true)
    await flushPromises()
    expect(wrapper.find('[data-testid="login-loading"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="login-identifier"]').exists()).toBe(true)
    wrapper.unmount()
  })
})
