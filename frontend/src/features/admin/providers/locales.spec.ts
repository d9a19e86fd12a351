import { describe, expect, it } from 'vitest'
import { providerMessages } from './locales'
import { providerErrorCodes } from './providerForm'

function flat(value: unknown, prefix = ''): [string, unknown][] {
  if (typeof value !== 'object' || value === null) return [[prefix, value]]
  return Object.entries(value).flatMap(([k, v]) => flat(v, prefix ? `${prefix}.${k}` : k))
}

describe('identity provider messages', () => {
  it('have the same keys in English and Chinese, none empty', () => {
    const en = flat(providerMessages.en)
    const zh = flat(providerMessages['zh-CN'])
    expect(zh.map(([k]) => k).sort()).toEqual(en.map(([k]) => k).sort())
    for (const [, v] of [...en, ...zh]) expect(typeof v === 'string' && v !== '').toBe(true)
  })
  it('explain every error code a provider round trip can end with', () => {
    for (const code of providerErrorCodes) expect(providerMessages.en.providerSignIn.errors[code]).toBeTruthy()
  })
})
