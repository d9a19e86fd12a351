// The console words every error code of the API in each language: the
// codes are read from the OpenAPI document the server is tested against.
import { describe, expect, it } from 'vitest'
import { defineComponent, h } from 'vue'
import { mount } from '@vue/test-utils'
import { ApiError, toApiError } from '@/api/client'
import { createAppI18n, supportedLocales } from '@/i18n'
import { describeError, describeFieldError, useApiErrors } from '@/composables/useApiErrors'
import openapiText from '../../../server/api/openapi.json?raw'

const doc = JSON.parse(openapiText) as {
  components: { schemas: Record<string, { enum?: string[] }> }
}
const errorCodes = doc.components.schemas.ErrorCode?.enum ?? []
const fieldCodes = doc.components.schemas.FieldErrorCode?.enum ?? []

// One sample of every parameter a code may name, so that a message that
// names one the server does not send shows up as "{name}" below.
const sampleParams = {
  min: 10, max: 100, size: '8 KiB', items: 'scopes', values: 'user, admin or super_admin', value: 'x y', type: 'image/png',
  detail: 'x', domains: 'example.com', mode: 'period', active: 'usage', requestId: 'abc', provider: 'Acme', linked: 3,
  dependent: 1, count: 1, names: 'root',
}

describe('API error codes', () => {
  it('are read from the OpenAPI document', () => {
    expect(errorCodes.length).toBeGreaterThan(50)
    expect(fieldCodes.length).toBeGreaterThan(50)
  })

  it.each(supportedLocales)('all have words in %s', (locale) => {
    const { te, t } = createAppI18n(locale).global
    const missing = [
      ...errorCodes.filter((c) => !te(`apiErrors.${c}`, locale)).map((c) => `apiErrors.${c}`),
      ...fieldCodes.filter((c) => !te(`fieldErrors.${c}`, locale)).map((c) => `fieldErrors.${c}`),
    ]
    expect(missing).toEqual([])
    const unfilled = [...errorCodes.map((c) => `apiErrors.${c}`), ...fieldCodes.map((c) => `fieldErrors.${c}`)].filter((k) =>
      /\{[a-zA-Z]+\}/.test(t(k, sampleParams)),
    )
    expect(unfilled).toEqual([])
  })

  it('shows a common password refused by the server in Chinese, with the English message as the fallback', () => {
    const body = {
      error: {
        code: 'validation_failed',
        message: 'Some fields are not valid.',
        fields: { newPassword: 'is one of the most commonly used passwords; choose another' },
        fieldErrors: { newPassword: { code: 'password_common' } },
      },
    }
    const err = toApiError(422, body)
    const zh = createAppI18n('zh-CN').global
    expect(describeFieldError(err, 'newPassword', zh.t, zh.te)).toBe('这是最常用的密码之一，请换一个。')
    expect(describeError(err, zh.t, zh.te)).toBe('有些字段无效。')
    const en = createAppI18n('en').global
    expect(describeFieldError(err, 'newPassword', en.t, en.te)).toBe('This is one of the most commonly used passwords. Choose another.')
    // A code this console does not know yet: the server's English words.
    const unknown = toApiError(409, { error: { code: 'brand_new', message: 'Something new happened.' } })
    expect(describeError(unknown, zh.t, zh.te)).toBe('Something new happened.')
    const unknownField = toApiError(422, { error: { code: 'validation_failed', message: 'x', fields: { a: 'is odd' }, fieldErrors: { a: { code: 'odd' } } } })
    expect(describeFieldError(unknownField, 'a', zh.t, zh.te)).toBe('is odd')
  })

  it('fills in the parameters', () => {
    const err = toApiError(422, {
      error: { code: 'validation_failed', message: 'x', fields: { newPassword: 'must be at least 12 characters' }, fieldErrors: { newPassword: { code: 'too_short', params: { min: 12 } } } },
    })
    const zh = createAppI18n('zh-CN').global
    expect(describeFieldError(err, 'newPassword', zh.t, zh.te)).toBe('至少需要 12 个字符。')
  })

  it('useApiErrors puts the translated field error next to the field', () => {
    const i18n = createAppI18n('zh-CN')
    let api!: ReturnType<typeof useApiErrors>
    mount(defineComponent({ setup: () => { api = useApiErrors(); return () => h('div') } }), { global: { plugins: [i18n] } })
    api.capture(new ApiError(422, 'validation_failed', 'Some fields are not valid.', { newPassword: 'is one of the most commonly used passwords; choose another' }, {
      code: 'validation_failed', message: 'Some fields are not valid.', fieldErrors: { newPassword: { code: 'password_common' } },
    }))
    expect(api.fields.newPassword).toBe('这是最常用的密码之一，请换一个。')
    expect(api.message.value).toBe('有些字段无效。')
  })
})
