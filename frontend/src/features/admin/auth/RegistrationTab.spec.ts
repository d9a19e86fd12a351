import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { stubFetch } from '@/test/fetch'
import { mountWithApp } from '@/test/mount'
import RegistrationTab from './RegistrationTab.vue'

const registration = {
  version: 2,
  emailRegistrationEnabled: false,
  requireEmailVerification: false,
  allowedDomains: [],
  allowSubdomains: false,
  blockPlusAliases: false,
}
const signin = (on: boolean) => ({ version: 7, usernameEnabled: on, emailEnabled: false, thirdPartyEnabled: true })

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

async function mountTab(passwordSignin: boolean, locale: 'en' | 'zh-CN' = 'en') {
  const calls = stubFetch({
    'GET /api/admin/settings/registration': { status: 200, body: registration },
    'GET /api/admin/settings/signin': { status: 200, body: signin(passwordSignin) },
    'PUT /api/admin/settings/registration': {
      status: 422,
      body: {
        error: {
          code: 'registration_needs_password_signin',
          message: 'Email registration needs username or email sign-in on.',
          fields: { emailRegistrationEnabled: 'needs username or email sign-in on' },
        },
      },
    },
  })
  const { wrapper } = mountWithApp(RegistrationTab, { locale })
  await flushPromises()
  return { wrapper, calls }
}

describe('RegistrationTab', () => {
  it('explains why email registration is unavailable while no password sign-in is on, and keeps it off', async () => {
    const { wrapper } = await mountTab(false)
    expect(wrapper.get('[data-testid="registration-unavailable"]').text()).toContain('could never sign in')
    expect(wrapper.get('[data-testid="registration-enabled"]').attributes('class')).toContain('n-switch--disabled')
  })

  it('says it in Chinese too', async () => {
    const { wrapper } = await mountTab(false, 'zh-CN')
    expect(wrapper.get('[data-testid="registration-unavailable"]').text()).toContain('永远无法登录')
  })

  it('offers registration while a password method is on', async () => {
    const { wrapper } = await mountTab(true)
    expect(wrapper.find('[data-testid="registration-unavailable"]').exists()).toBe(false)
    expect(wrapper.get('[data-testid="registration-enabled"]').attributes('class')).not.toContain('n-switch--disabled')
  })

  it('shows the API refusal next to the switch in the reader’s language', async () => {
    const { wrapper, calls } = await mountTab(true)
    await wrapper.get('[data-testid="registration-enabled"]').trigger('click')
    await wrapper.get('[data-testid="registration-form"]').trigger('submit')
    await flushPromises()
    expect(calls.find((c) => c.method === 'PUT')?.body).toMatchObject({ emailRegistrationEnabled: true })
    expect(wrapper.text()).toContain('Needs username or email sign-in on')
    expect(wrapper.find('[data-testid="registration-unavailable"]').exists()).toBe(true)
  })
})
