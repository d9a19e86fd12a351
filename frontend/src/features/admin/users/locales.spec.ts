import { describe, expect, it } from 'vitest'
import en from '@/i18n/locales/en'
import { accountsMessages } from './locales'

function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix]
  return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k))
}

describe('accounts and billing messages', () => {
  it('have the same keys in every language', () => {
    expect(keys(accountsMessages['zh-CN']).sort()).toEqual(keys(accountsMessages.en).sort())
  })

  it('have no empty strings', () => {
    for (const messages of Object.values(accountsMessages)) {
      const flat = keys(messages).map((k) => k.split('.').reduce<unknown>((o, part) => (o as Record<string, unknown>)[part], messages))
      expect(flat.filter((v) => typeof v !== 'string' || v === '')).toEqual([])
    }
  })

  it('do not overwrite the shared top-level keys', () => {
    for (const key of Object.keys(accountsMessages.en)) expect(Object.keys(en)).not.toContain(key)
  })
})
