// vue-i18n setup: English and Simplified Chinese, choice kept in localStorage.
// English, the fallback of every message, is in the first script; Chinese
// is a chunk of its own, loaded before the first render when the page opens
// in Chinese (main.ts waits for `i18nReady`) and before the switch to it:
// the page never shows a key or a half-translated screen.
import { createI18n } from 'vue-i18n'
import type { Messages } from './locales/en'
import { messages as en } from './messages.en'

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

/** The console's own instance (`i18n` below), once made. */
let appI18n: ReturnType<typeof createAppI18n> | undefined

/** The catalogues loaded so far (English always). */
const catalogues: Partial<Record<Locale, Messages>> = { en: en as Messages }
const loaders: Record<Locale, () => Promise<{ messages: unknown }>> = {
  en: () => Promise.resolve({ messages: en }),
  'zh-CN': () => import('./messages.zh-CN'),
}

/** Whether a language's messages are here (switching to it is then immediate). */
export function localeLoaded(locale: Locale): boolean {
  return catalogues[locale] !== undefined
}

/**
 * Adds a language's messages (the loaded chunk; tests register both at
 * start). Merged, not set: the audit names (features/admin/audit/actions.ts)
 * may have been merged into the language already.
 */
export function registerCatalogue(locale: Locale, messages: unknown): void {
  if (catalogues[locale]) return
  catalogues[locale] = messages as Messages
  appI18n?.global.mergeLocaleMessage(locale, messages as Messages)
}

/** Loads a language's messages once. */
export async function loadLocale(locale: Locale): Promise<void> {
  if (localeLoaded(locale)) return
  registerCatalogue(locale, (await loaders[locale]()).messages)
}

/** An i18n instance in `locale` when its messages are loaded (else English until they are). */
export function createAppI18n(locale: Locale = initialLocale()) {
  return createI18n<[Messages], Locale, false>({
    legacy: false,
    locale: localeLoaded(locale) ? locale : 'en',
    fallbackLocale: 'en',
    messages: { ...catalogues } as Record<Locale, Messages>,
    missingWarn: false,
    fallbackWarn: false,
  })
}

const startLocale = initialLocale()
export const i18n = createAppI18n(startLocale)
appI18n = i18n

// The latest switch asked for wins, whatever order the catalogues arrive in.
let wanted: Locale = startLocale

function show(locale: Locale): void {
  i18n.global.locale.value = locale
  if (typeof document !== 'undefined') document.documentElement.lang = locale
}

/** Resolves once the page's first language is loaded and shown (main.ts mounts then). */
export const i18nReady: Promise<void> = localeLoaded(startLocale)
  ? Promise.resolve()
  : loadLocale(startLocale).then(
      () => {
        if (wanted === startLocale) show(startLocale)
      },
      () => undefined, // Not loaded (offline): the page stays in English.
    )

/**
 * Switches the UI language, remembers it and updates <html lang>: at once
 * when its messages are here, else once they are loaded.
 */
export function setLocale(locale: Locale): Promise<void> {
  wanted = locale
  try {
    localStorage.setItem(localeStorageKey, locale)
  } catch {
    // Private mode or storage disabled: the choice lasts for this page only.
  }
  if (localeLoaded(locale)) {
    show(locale)
    return Promise.resolve()
  }
  return loadLocale(locale).then(() => {
    if (wanted === locale) show(locale)
  })
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
