import { describe, expect, it } from 'vitest'
import { accountSecurityMessages } from '@/features/account/locales'
import { authPagesMessages } from '@/features/auth/locales'
import { authSettingsMessages } from './locales'

function flat(value: unknown, prefix = ''): [string, unknown][] {
  if (typeof value !== 'object' || value === null) return [[prefix, value]]
  return Object.entries(value).flatMap(([k, v]) => flat(v, prefix ? `${prefix}.${k}` : k))
}

describe.each([
  ['Login & auth', authSettingsMessages],
  ['public auth pages', authPagesMessages],
  ['two-factor and email change', accountSecurityMessages],
])('%s messages', (_, messages) => {
  it('have the same keys in English and Chinese, none empty', () => {
    const en = flat(messages.en)
    const zh = flat(messages['zh-CN'])
    expect(zh.map(([k]) => k).sort()).toEqual(en.map(([k]) => k).sort())
    for (const [, v] of [...en, ...zh]) expect(typeof v === 'string' && v !== '').toBe(true)
  })
})
