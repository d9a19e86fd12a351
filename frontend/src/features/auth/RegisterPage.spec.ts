import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent } from 'vue'
import { flushPromises } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { stubFetch } from '@/test/fetch'
import { mountWithApp } from '@/test/mount'
import RegisterPage from './RegisterPage.vue'

const Stub = defineComponent({ template: '<div />' })
const options = { usernameEnabled: true, emailEnabled: true, thirdPartyEnabled: false, registrationEnabled: true, providers: [] }

async function mountRegister() {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/register', name: 'register', component: RegisterPage },
      { path: '/login', name: 'login', component: Stub },
      { path: '/check-email', name: 'check-email', component: Stub },
    ],
  })
  await router.push('/register')
  const mounted = mountWithApp(RegisterPage, { plugins: [router] })
  await flushPromises()
  return { ...mounted, router }
}

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
  document.head.querySelectorAll('script').forEach((s) => s.remove())
})

describe('RegisterPage', () => {
  it('says registration is closed when the options say so', async () => {
    stubFetch({ 'GET /api/auth/options': { status: 200, body: { ...options, registrationEnabled: false } } })
    const { wrapper } = await mountRegister()
    expect(wrapper.find('[data-testid="register-closed"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="register-form"]').exists()).toBe(false)
  })

  it('registers and sends the user to "check your mailbox", without loading Turnstile', async () => {
    const calls = stubFetch({
      'GET /api/auth/options': { status: 200, body: options },
      'POST /api/auth/register': { status: 202, body: { verificationRequired: true } },
    })
    const { wrapper, router } = await mountRegister()
    expect(wrapper.find('[data-testid="turnstile"]').exists()).toBe(false)
    expect(document.head.querySelector('script[src*="challenges.cloudflare.com"]')).toBeNull()
    await wrapper.get('[data-testid="register-username"]').setValue('carol')
    await wrapper.get('[data-testid="register-email"]').setValue('carol@example.com')
    await wrapper.get('[data-testid="register-password"]').setValue('quiet-meadow-4821')
    await wrapper.get('[data-testid="register-confirm"]').setValue('quiet-meadow-4821')
    await wrapper.get('[data-testid="register-form"]').trigger('submit')
    await flushPromises()
    expect(calls.find((c) => c.path === '/api/auth/register')?.body).toEqual({
      username: 'carol',
      email: 'carol@example.com',
      password: 'quiet-meadow-4821',
      language: 'en',
    })
    expect(router.currentRoute.value.fullPath).toBe('/check-email?email=carol@example.com')
  })

  it('shows field errors next to fields', async () => {
    stubFetch({
      'GET /api/auth/options': { status: 200, body: options },
      'POST /api/auth/register': {
        status: 422,
        body: { error: { code: 'invalid_input', message: 'Check the fields.', fields: { email: 'this email domain is not allowed' } } },
      },
    })
    const { wrapper } = await mountRegister()
    await wrapper.get('[data-testid="register-username"]').setValue('carol')
    await wrapper.get('[data-testid="register-email"]').setValue('carol@elsewhere.test')
    await wrapper.get('[data-testid="register-password"]').setValue('quiet-meadow-4821')
    await wrapper.get('[data-testid="register-confirm"]').setValue('quiet-meadow-4821')
    await wrapper.get('[data-testid="register-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.text()).toContain('this email domain is not allowed')
  })

  it('loads the Turnstile script only when a site key is offered', async () => {
    const appended: string[] = []
    const spy = vi.spyOn(document.head, 'appendChild').mockImplementation(<T extends Node>(node: T): T => {
      if (node instanceof HTMLScriptElement) appended.push(node.src)
      return node
    })
    stubFetch({ 'GET /api/auth/options': { status: 200, body: { ...options, turnstileSiteKey: '1x00000000000000000000AA' } } })
    const { wrapper } = await mountRegister()
    expect(wrapper.find('[data-testid="turnstile"]').exists()).toBe(true)
    expect(appended).toEqual(['https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit'])
    spy.mockRestore()
  })
})
