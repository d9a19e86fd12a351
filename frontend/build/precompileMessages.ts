// precompileMessages: the console's messages compiled to functions at build
// time (issue 15: time to interactive). vue-i18n otherwise parses each
// message the first time it is shown, with its message compiler in the
// bundle: about 50-60 ms of the Accounts screen's first render in a CPU
// profile (BENCHMARKS.md, session 15). The listed modules (data only, such
// as src/i18n/messages.ts) are evaluated in Node through Vite's module
// runner, and each string of their named exports is replaced by the
// function @intlify/message-compiler generates for it, the same code the
// intlify bundler plugins emit. `__INTLIFY_DROP_MESSAGE_COMPILER__` then
// leaves the compiler out: a message that reaches vue-i18n as a string
// would no longer be formatted, so every message source (also those merged
// later with mergeLocaleMessage) must be one of these modules. No
// `new Function`: the functions are part of the script, as the
// Content-Security-Policy (script-src 'self') requires.
//
// Tests (vitest) and the dev server do not run this plugin: they use the
// modules as written, with vue-i18n's compiler.
import { baseCompile } from '@intlify/message-compiler'
import { runnerImport, type AliasOptions, type Plugin } from 'vite'

/** A message that is plain text (no placeholder, plural or link) still becomes a function, made by `_p`. */
const special = /[{}@|]/

/** The JavaScript source of a message value: a function for each string, nested objects and arrays as they are. */
export function compileMessageValue(value: unknown, path: string): string {
  if (typeof value === 'string') {
    if (!special.test(value)) return `_p(${JSON.stringify(value)})`
    const errors: string[] = []
    const { code } = baseCompile(value, { mode: 'arrow', onError: (e) => errors.push(e.message) })
    if (errors.length > 0) throw new Error(`message ${path} (${JSON.stringify(value)}): ${errors.join('; ')}`)
    return code
  }
  if (Array.isArray(value)) return `[${value.map((v, i) => compileMessageValue(v, `${path}[${i}]`)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${compileMessageValue(v, path ? `${path}.${k}` : k)}`)
    return `{${entries.join(',')}}`
  }
  if (value === undefined) return 'undefined'
  return JSON.stringify(value)
}

/** The module that replaces a message module: its named exports, compiled. */
export function compiledMessageModule(exports: Record<string, unknown>): string {
  const out = ['// Compiled by frontend/build/precompileMessages.ts.', 'const _p = (m) => (ctx) => ctx.normalize([m])']
  for (const [name, value] of Object.entries(exports)) {
    if (name === 'default') throw new Error('precompileMessages: message modules have named exports only')
    out.push(`export const ${name} = ${compileMessageValue(value, '')}`)
  }
  return out.join('\n') + '\n'
}

export function precompileMessages(files: string[], root: string, alias: AliasOptions): Plugin {
  const wanted = new Set(files.map((f) => f.replace(/\\/g, '/')))
  return {
    name: 'gatehouse-precompile-messages',
    apply: 'build',
    enforce: 'pre',
    config() {
      return { define: { __INTLIFY_DROP_MESSAGE_COMPILER__: 'true' } }
    },
    async load(id) {
      const file = id.replace(/\\/g, '/').replace(/\?.*$/, '')
      if (!wanted.has(file)) return null
      const { module, dependencies } = await runnerImport<Record<string, unknown>>(file, {
        configFile: false,
        root,
        logLevel: 'error',
        resolve: { alias },
      })
      for (const dep of dependencies) this.addWatchFile(dep)
      return { code: compiledMessageModule(module), moduleSideEffects: false }
    },
  }
}
