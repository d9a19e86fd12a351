// The build compiles the messages to functions (frontend/build/precompileMessages.ts)
// and leaves vue-i18n's message compiler out. Every message of both languages,
// compiled that way, must read as vue-i18n's own compiler makes it read, with
// its placeholders filled and for each plural form.
import { describe, expect, it } from 'vitest'
import { createI18n } from 'vue-i18n'
import { compileMessageValue } from '../../build/precompileMessages'
import { auditActionMessages } from '@/features/admin/audit/actionMessages'
import { messages } from './messages'

type Tree = { [key: string]: string | Tree }
type Global = { locale: { value: string }; t: (key: string, ...args: unknown[]) => string; te: (key: string) => boolean }

function leaves(value: Tree, prefix = ''): [string, string][] {
  return Object.entries(value).flatMap(([k, v]) => (typeof v === 'string' ? [[prefix + k, v] as [string, string]] : leaves(v, `${prefix}${k}.`)))
}

/** What the generated module does with a compiled value (the build evaluates it as a script). */
function evaluate(value: unknown): Tree {
  const p = (m: string) => (ctx: { normalize: (parts: unknown[]) => unknown }) => ctx.normalize([m])
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('_p', `return ${compileMessageValue(value, '')}`)(p) as Tree
}

function compare(source: Record<string, Tree>) {
  const opts = { legacy: false as const, missingWarn: false, fallbackWarn: false, fallbackLocale: 'en' }
  const compiled = Object.fromEntries(Object.entries(source).map(([locale, tree]) => [locale, evaluate(tree)]))
  const make = (messages: unknown) => createI18n({ ...opts, locale: 'en', messages: messages as never }).global as unknown as Global
  const raw = make(source)
  const pre = make(compiled)
  let count = 0
  for (const [locale, tree] of Object.entries(source)) {
    raw.locale.value = locale
    pre.locale.value = locale
    for (const [key, text] of leaves(tree)) {
      const named: Record<string, string | number> = {}
      for (const m of text.matchAll(/\{\s*(\w+)\s*\}/g)) named[m[1]!] = `«${m[1]}»`
      expect(typeof pre.t(key, named), key).toBe('string')
      expect(pre.t(key, named), `${locale} ${key}`).toBe(raw.t(key, named))
      if (text.includes('|')) {
        for (const n of [0, 1, 2, 7]) {
          expect(pre.t(key, { ...named, n, count: n }, n), `${locale} ${key} ${n}`).toBe(raw.t(key, { ...named, n, count: n }, n))
        }
      }
      expect(pre.te(key), key).toBe(true)
      count++
    }
  }
  return count
}

describe('precompiled messages', () => {
  it('read as vue-i18n compiles them, in both languages', () => {
    expect(compare(messages as unknown as Record<string, Tree>)).toBeGreaterThan(1000)
  })

  it('include the audit names, merged later', () => {
    // Stored as actions.ts merges them: a dot in an action's name would read as nesting.
    const stored = Object.fromEntries(
      Object.entries(auditActionMessages).map(([locale, m]) => [
        locale,
        { ...m, auditActions: Object.fromEntries(Object.entries(m.auditActions).map(([k, v]) => [k.replace(/\./g, '__'), v])) },
      ]),
    )
    expect(compare(stored as unknown as Record<string, Tree>)).toBeGreaterThan(100)
  })

  it('fail the build on a message that does not parse', () => {
    expect(() => compileMessageValue({ a: { b: 'Hello {name' } }, '')).toThrow(/a\.b/)
  })
})
