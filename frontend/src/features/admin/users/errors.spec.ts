import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/client'
import { createAppI18n } from '@/i18n'
import { describeAdminError, errorCodeKey, explainedCodes } from './errors'

const required = [
  'super_admin_protected',
  'super_admin_grant',
  'self_change',
  'last_super_admin',
  'would_lock_out_admins',
  'negative_balance',
  'plan_in_use',
  'bulk_refused',
  'stale_version',
  'validation_failed',
]

describe('admin error codes', () => {
  it('explains every code the console must put in words', () => {
    for (const code of required) expect(explainedCodes).toContain(code)
  })

  it.each(['en', 'zh-CN'] as const)('has a message for every explained code in %s', (locale) => {
    const { t, te } = createAppI18n(locale).global
    for (const code of explainedCodes) {
      const key = errorCodeKey(code)!
      expect(te(key), key).toBe(true)
      expect(t(key)).not.toBe(key)
    }
  })

  it('maps a code to our words instead of the server text', () => {
    const { t } = createAppI18n('en').global
    const err = new ApiError(409, 'last_super_admin', 'server words')
    expect(describeAdminError(err, t)).toBe(t('accounts.errorCodes.last_super_admin'))
    const zh = createAppI18n('zh-CN').global
    expect(describeAdminError(err, zh.t)).toContain('超级管理员')
  })

  it('uses the generic field message when fields carry the details', () => {
    const { t } = createAppI18n('en').global
    const err = new ApiError(422, 'invalid_input', 'bad', { email: 'is taken' })
    expect(describeAdminError(err, t)).toBe(t('accounts.errorCodes.validation_failed'))
  })

  it('falls back to the server message, then to the network text', () => {
    const { t } = createAppI18n('en').global
    expect(describeAdminError(new ApiError(400, 'bad_sort', 'Unknown sort key.'), t)).toBe('Unknown sort key.')
    expect(describeAdminError(new ApiError(0, 'network_error', ''), t)).toBe(t('errors.network'))
    expect(errorCodeKey('something_else')).toBeNull()
  })
})
