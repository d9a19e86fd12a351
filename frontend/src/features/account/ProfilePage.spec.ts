import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import type { User } from '@/api/types'
import { resetSessionStore, setUser, useSession } from '@/stores/session'
import { stubFetch } from '@/test/fetch'
import { mountWithApp } from '@/test/mount'
import ProfilePage from './ProfilePage.vue'

const alice = {
  username: 'alice',
  displayName: 'Alice',
  email: 'alice@example.com',
  emailVerified: true,
  phone: '',
  language: 'en',
  timezone: 'Europe/Berlin',
  role: 'user',
} as User

describe('ProfilePage', () => {
  beforeEach(() => {
    resetSessionStore()
    setUser(alice)
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('shows the account and saves with PATCH /api/me', async () => {
    const calls = stubFetch({ 'PATCH /api/me': (body) => ({ status: 200, body: { ...alice, ...(body as object) } }) })
    const { wrapper } = mountWithApp(ProfilePage)
    await flushPromises()
    expect((wrapper.find('[data-testid="profile-display-name"]').element as HTMLInputElement).value).toBe('Alice')
    expect(wrapper.text()).toContain('Verified')
    await wrapper.find('[data-testid="profile-display-name"]').setValue('Alice A.')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(calls[0]).toMatchObject({
      method: 'PATCH',
      body: { displayName: 'Alice A.', phone: '', language: 'en', timezone: 'Europe/Berlin' },
    })
    expect(useSession().user.value?.displayName).toBe('Alice A.')
    wrapper.unmount()
  })

  it('puts field errors next to their fields', async () => {
    stubFetch({
      'PATCH /api/me': {
        status: 422,
        body: { error: { code: 'validation_failed', message: 'Some fields are not valid.', fields: { phone: 'must be a phone number' } } },
      },
    })
    const { wrapper } = mountWithApp(ProfilePage)
    await flushPromises()
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    const phoneItem = wrapper.find('[data-testid="profile-phone"]').element.closest('.n-form-item')
    expect(phoneItem?.textContent).toContain('must be a phone number')
    const nameItem = wrapper.find('[data-testid="profile-display-name"]').element.closest('.n-form-item')
    expect(nameItem?.textContent).not.toContain('must be a phone number')
    wrapper.unmount()
  })
})
