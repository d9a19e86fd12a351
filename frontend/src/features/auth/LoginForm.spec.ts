import { describe, expect, it } from 'vitest'
import { nextTick } from 'vue'
import type { AuthOptions } from '@/api/types'
import { mountWithApp } from '@/test/mount'
import { identifierLabelKey } from './identifier'
import LoginForm from './LoginForm.vue'

function options(usernameEnabled: boolean, emailEnabled: boolean): AuthOptions {
  return {
    usernameEnabled,
    emailEnabled,
    thirdPartyEnabled: false,
    registrationEnabled: false,
    providers: [],
    passwordPolicy: { minLength: 10, maxLength: 128, blockCommon: true, blockPersonalInfo: true },
    emailVerificationRequired: false,
  }
}

function label(wrapper: ReturnType<typeof mountWithApp>['wrapper']): string {
  return wrapper.find('[data-testid="login-identifier-item"] label').text()
}

describe('identifierLabelKey', () => {
  it.each([
    [options(true, true), 'auth.usernameOrEmail'],
    [options(true, false), 'auth.username'],
    [options(false, true), 'auth.email'],
    [null, 'auth.usernameOrEmail'],
  ] as const)('%j -> %s', (opts, key) => {
    expect(identifierLabelKey(opts)).toBe(key)
  })
})

describe('LoginForm', () => {
  it.each([
    [options(true, true), 'Username or email'],
    [options(true, false), 'Username'],
    [options(false, true), 'Email'],
  ])('labels the identifier field for %j', (opts, text) => {
    const { wrapper } = mountWithApp(LoginForm, { props: { options: opts } })
    expect(label(wrapper)).toBe(text)
    wrapper.unmount()
  })

  it('labels the field in Chinese', () => {
    const { wrapper } = mountWithApp(LoginForm, { props: { options: options(true, true) }, locale: 'zh-CN' })
    expect(label(wrapper)).toBe('用户名或邮箱')
    wrapper.unmount()
  })

  it('shows field errors from the API next to their fields, and the general message', () => {
    const { wrapper } = mountWithApp(LoginForm, {
      props: {
        options: options(true, true),
        errorMessage: 'Wrong username or password.',
        fieldErrors: { identifier: 'Unknown account format.', password: 'Too long.' },
      },
    })
    expect(wrapper.find('[data-testid="login-error"]').text()).toBe('Wrong username or password.')
    expect(wrapper.find('[data-testid="login-identifier-item"]').text()).toContain('Unknown account format.')
    expect(wrapper.find('[data-testid="login-password-item"]').text()).toContain('Too long.')
    wrapper.unmount()
  })

  it('requires both fields before submitting', async () => {
    const { wrapper, inner } = mountWithApp(LoginForm, { props: { options: options(true, true) } })
    await wrapper.find('form').trigger('submit')
    await nextTick()
    expect(inner().emitted('submit')).toBeUndefined()
    expect(wrapper.find('[data-testid="login-identifier-item"]').text()).toContain('This field is required.')
    expect(wrapper.find('[data-testid="login-password-item"]').text()).toContain('This field is required.')
    wrapper.unmount()
  })

  it('emits the trimmed identifier and the password', async () => {
    const { wrapper, inner } = mountWithApp(LoginForm, { props: { options: options(true, true) } })
    await wrapper.find('[data-testid="login-identifier"]').setValue('  alice ')
    await wrapper.find('[data-testid="login-password"]').setValue(' secret pw ')
    await wrapper.find('form').trigger('submit')
    expect(inner().emitted('submit')).toEqual([[{ identifier: 'alice', password: ' secret pw ' }]])
    wrapper.unmount()
  })
})
