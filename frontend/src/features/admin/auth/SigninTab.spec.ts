import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { stubFetch } from '@/test/fetch'
import { mountWithApp } from '@/test/mount'
import SigninTab from './SigninTab.vue'

const answer = {
  version: 4,
  usernameEnabled: true,
  emailEnabled: true,
  thirdPartyEnabled: false,
  adminSignInPaths: { total: 1, paths: [{ path: 'username', admins: 1 }, { path: 'email', admins: 1 }] },
}

afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

async function mountTab(put: Parameters<typeof stubFetch>[0][string]) {
  const calls = stubFetch({ 'GET /api/admin/settings/signin': { status: 200, body: answer }, 'PUT /api/admin/settings/signin': put })
  const { wrapper } = mountWithApp(SigninTab)
  await flushPromises()
  return { wrapper, calls }
}

/** Lets the dry run's debounce fire and its answer arrive. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 200))
  await flushPromises()
}

describe('SigninTab', () => {
  it('shows the server’s counts for a pending change and no refusal when it accepts', async () => {
    const preview = { ...answer, usernameEnabled: false, adminSignInPaths: { total: 1, paths: [{ path: 'email', admins: 1 }] } }
    const { wrapper, calls } = await mountTab({ status: 200, body: preview })
    await wrapper.get('[data-testid="signin-username"]').trigger('click')
    await settle()
    expect(calls.filter((c) => c.method === 'PUT').map((c) => c.query)).toEqual(['?dryRun=true'])
    expect(wrapper.get('[data-testid="signin-summary-text"]').text()).toBe('1 administrator can sign in with email and password')
    expect(wrapper.text()).toContain('Who could sign in after this change')
    expect(wrapper.find('[data-testid="signin-guard"]').exists()).toBe(false)
  })

  it('shows who can sign in and warns about a single administrator', async () => {
    const { wrapper } = await mountTab({ status: 200, body: answer })
    expect(wrapper.get('[data-testid="signin-summary-text"]').text()).toBe(
      '1 administrator can sign in with a username and password; 1 with email and password',
    )
    expect(wrapper.find('[data-testid="signin-warning-oneAdmin"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="signin-guard"]').exists()).toBe(false)
  })

  it('explains the server’s refusal before saving (a dry run) and after', async () => {
    const { wrapper, calls } = await mountTab({
      status: 409,
      body: { error: { code: 'password_signin_required', message: 'Username and email sign-in may both be off only while …' } },
    })
    await wrapper.get('[data-testid="signin-username"]').trigger('click')
    await wrapper.get('[data-testid="signin-email"]').trigger('click')
    await settle()
    const guard = wrapper.get('[data-testid="signin-guard"]')
    expect(guard.text()).toContain('cannot both be turned off')
    expect(calls.find((c) => c.method === 'PUT')?.query).toBe('?dryRun=true')

    await wrapper.get('[data-testid="signin-form"]').trigger('submit')
    await flushPromises()
    const put = calls.find((c) => c.method === 'PUT' && !c.query)
    expect(put?.body).toEqual({ usernameEnabled: false, emailEnabled: false, thirdPartyEnabled: false, version: 4 })
    expect(wrapper.get('[data-testid="signin-error"]').text()).toContain('Keep one of them on')
  })

  it('explains that email registration keeps a password method on', async () => {
    const { wrapper } = await mountTab({
      status: 422,
      body: {
        error: {
          code: 'registration_needs_password_signin',
          message: 'Email registration needs username or email sign-in on.',
          fields: { usernameEnabled: 'email registration is on', emailEnabled: 'email registration is on' },
        },
      },
    })
    await wrapper.get('[data-testid="signin-username"]').trigger('click')
    await wrapper.get('[data-testid="signin-email"]').trigger('click')
    await wrapper.get('[data-testid="signin-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="signin-error"]').text()).toContain('Turn email registration off first')
    expect(wrapper.text()).toContain('keep username or email sign-in, or turn registration off first')
  })

  it('offers a reload when someone else saved first', async () => {
    const { wrapper, calls } = await mountTab({ status: 409, body: { error: { code: 'stale_version', message: 'stale' } } })
    await wrapper.get('[data-testid="signin-third-party"]').trigger('click')
    await wrapper.get('[data-testid="signin-form"]').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[data-testid="signin-error"]').text()).toContain('changed by someone else')
    await wrapper.get('[data-testid="settings-reload"]').trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.method === 'GET')).toHaveLength(2)
    expect(wrapper.find('[data-testid="signin-error"]').exists()).toBe(false)
  })
})
