// vue-i18n setup: English and Simplified Chinese, choice kept in localStorage.
import { createI18n } from 'vue-i18n'
import type { Messages } from './locales/en'
import { messages } from './messages'

export const supportedLocales = ['en', 'zh-CN'] as const
export type Locale = (typeof supportedLocales)[number]

/** The names shown in the language switcher, each in its own language. */
export const localeNames: Record<Locale, string> = { en: 'English', 'zh-CN': '简体中文' }

export const localeStorageKey = 'gatehouse.locale'

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (supportedLocales as readonly string[]).includes(value)
}

/** Maps a BCP 47 tag such as "zh-Hans-CN" or "en-GB" to a supported locale. */
export function matchLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null
  if (isLocale(tag)) return tag
  const lower = tag.toLowerCase()
  if (lower.startsWith('zh')) return 'zh-CN'
  if (lower.startsWith('en')) return 'en'
  return null
}

function readStoredLocale(): Locale | null {
  try {
    return matchLocale(localStorage.getItem(localeStorageKey))
  } catch {
    return null
  }
}

/**
 * The language a link names (?lang=zh-CN): the links of the emails carry
 * the account's language, so the page they open speaks it whatever the
 * browser's language (issue 15). It is not remembered: the page's language
 * switcher still decides for the browser.
 */
export function linkedLocale(search = typeof location === 'undefined' ? '' : location.search): Locale | null {
  try {
    return matchLocale(new URLSearchParams(search).get('lang'))
  } catch {
    return null
  }
}

export function initialLocale(): Locale {
  const linked = linkedLocale()
  if (linked) return linked
  const stored = readStoredLocale()
  if (stored) return stored
  const languages = typeof navigator === 'undefined' ? [] : (navigator.languages ?? [navigator.language])
  for (const lang of languages) {
    const match = matchLocale(lang)
    if (match) return match
  }
  return 'en'
}

export function createAppI18n(locale: Locale = initialLocale()) {
  return createI18n<[Messages], Locale, false>({
    legacy: false,
    locale,
    fallbackLocale: 'en',
    messages,
    missingWarn: false,
    fallbackWarn: false,
  })
}

export const i18n = createAppI18n()

/** Switches the UI language, remembers it and updates <html lang>. */
export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  try {
    localStorage.setItem(localeStorageKey, locale)
  } catch {
    // Private mode or storage disabled: the choice lasts for this page only.
  }
  if (typeof document !== 'undefined') document.documentElement.lang = locale
}

/**
 * At sign-in the console takes the account's language (the one the account
 * page edits and the language switcher saves), when it is one the console
 * speaks.
 */
export function applyAccountLocale(account: { language?: string | null }): void {
  const match = matchLocale(account.language)
  if (match) setLocale(match)
}

// A sign-in through a provider leaves the console for the provider's pages
// and comes back as a fresh page load: the provider button leaves a mark in
// sessionStorage (same tab, same origin), and the first load that finds a
// signed-in account takes its language, as the sign-in form does.
const signInMarkKey = 'gatehouse.signInLeaving'

/** Called as a provider sign-in leaves the console. */
export function markSignInLeaving(): void {
  try {
    sessionStorage.setItem(signInMarkKey, '1')
  } catch {
    // Storage disabled: the language stays the browser's.
  }
}

/** On a signed-in load: the account's language if a provider sign-in just came back. */
export function applyLocaleAfterSignIn(account: { language?: string | null }): void {
  let marked = false
  try {
    marked = sessionStorage.getItem(signInMarkKey) !== null
    sessionStorage.removeItem(signInMarkKey)
  } catch {
    return
  }
  if (marked) applyAccountLocale(account)
}
