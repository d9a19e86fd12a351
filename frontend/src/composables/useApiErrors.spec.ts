import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/client'
import { createAppI18n } from '@/i18n'
import { describeError } from './useApiErrors'

describe('describeError', () => {
  it.each(['en', 'zh-CN'] as const)('explains a full or read-only database in its own words (%s)', (locale) => {
    const { t } = createAppI18n(locale).global
    const text = describeError(new ApiError(503, 'storage_unavailable', 'The server cannot save data right now.'), t)
    expect(text).toBe(t('errors.storageUnavailable'))
    expect(text).not.toBe('errors.storageUnavailable')
  })

  it('shows the server message for other errors, and words of its own for no answer', () => {
    const { t } = createAppI18n('en').global
    expect(describeError(new ApiError(409, 'conflict', 'Taken.'), t)).toBe('Taken.')
    expect(describeError(new ApiError(0, 'network_error', ''), t)).toBe(t('errors.network'))
  })
})
