import { describe, expect, it } from 'vitest'
import en from './locales/en'
import zhCN from './locales/zh-CN'
import { applyLocaleAfterSignIn, createAppI18n, i18n, linkedLocale, markSignInLeaving, matchLocale, setLocale, supportedLocales } from '.'

function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix]
  return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k))
}

describe('messages', () => {
  it('have the same keys in every language', () => {
    expect(keys(zhCN).sort()).toEqual(keys(en).sort())
  })

  it('have no empty strings', () => {
    for (const messages of [en, zhCN]) {
      const flat = keys(messages).map((k) => k.split('.').reduce<unknown>((o, part) => (o as Record<string, unknown>)[part], messages))
      expect(flat.filter((v) => typeof v !== 'string' || v === '')).toEqual([])
    }
  })
})

describe('matchLocale', () => {
  it.each([
    ['en', 'en'],
    ['en-GB', 'en'],
    ['zh-CN', 'zh-CN'],
    ['zh-Hans-CN', 'zh-CN'],
    ['zh', 'zh-CN'],
    ['fr-FR', null],
    ['', null],
    [null, null],
  ] as const)('%j -> %j', (tag, expected) => {
    expect(matchLocale(tag)).toBe(expected)
  })
})

describe('linkedLocale', () => {
  it('takes the language an emailed link names', () => {
    expect(linkedLocale('?token=abc&lang=zh-CN')).toBe('zh-CN')
    expect(linkedLocale('?lang=en')).toBe('en')
    expect(linkedLocale('?token=abc')).toBeNull()
    expect(linkedLocale('?lang=fr')).toBeNull()
  })
})

describe('every message of the assembled app', () => {
  // vue-i18n compiles messages lazily: a stray "@", "{" or "|" throws only
  // when the screen that shows it renders. Compile them all here instead.
  it.each(supportedLocales)('compiles in %s', (locale) => {
    const i18n = createAppI18n(locale)
    const messages = i18n.global.getLocaleMessage(locale) as Record<string, unknown>
    const failures: string[] = []
    for (const key of keys(messages)) {
      try {
        i18n.global.t(key, { n: 1, count: 1, list: 'x', name: 'x' })
      } catch (err) {
        failures.push(`${key}: ${String(err)}`)
      }
    }
    expect(failures).toEqual([])
  })
})

describe('the account language after a sign-in that leaves the console', () => {
  // A provider sign-in is a full-page round trip: the console loads afresh
  // and learns who is signed in from GET /api/me. The sign-in form applies
  // the account's language itself (issue 15).
  it('is applied once, on the first signed-in load after the provider button', () => {
    setLocale('en')
    markSignInLeaving()
    applyLocaleAfterSignIn({ language: 'zh-CN' })
    expect(i18n.global.locale.value).toBe('zh-CN')
    // Later loads keep whatever the person chose since (the language switch).
    setLocale('en')
    applyLocaleAfterSignIn({ language: 'zh-CN' })
    expect(i18n.global.locale.value).toBe('en')
  })

  it('leaves the language alone without a provider sign-in, or for a language the console does not speak', () => {
    setLocale('en')
    applyLocaleAfterSignIn({ language: 'zh-CN' })
    expect(i18n.global.locale.value).toBe('en')
    markSignInLeaving()
    applyLocaleAfterSignIn({ language: 'fr' })
    expect(i18n.global.locale.value).toBe('en')
  })
})
