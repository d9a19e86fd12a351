// The console shows no server-written English text: every error and field
// error is worded from its code (useApiErrors.ts: describeCode,
// describeError, describeFieldError, useApiErrors). This test reads the
// console's source and fails on a read of a server message outside that
// file: `.message` of an error or of a coded item (a bulk refusal, an
// error body), the values of an ApiError's `fields`, and free-text
// diagnostics (`lastError`) beyond the places listed below with a reason.
// It checks itself on the lines that did slip through before (the Webhooks
// form, the export dialog, the bulk dialog), so it cannot pass by finding
// nothing.
import { describe, expect, it } from 'vitest'

const sources = import.meta.glob(['/src/**/*.ts', '/src/**/*.vue', '!/src/**/*.spec.ts', '!/src/**/*.d.ts', '!/src/test/**'], {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>

// The files allowed to touch server text: the client that parses the error
// body, and the one helper that turns codes into words.
const exempt = new Set(['/src/api/client.ts', '/src/composables/useApiErrors.ts'])

// Places that still show server text, each with the reason. An entry that
// no longer matches fails the test, so the list only shrinks.
const allowed: { file: string; text: string; why: string }[] = [
  {
    file: '/src/features/admin/integrations/IntegrationsPage.vue',
    text: 'm.lastError',
    why: 'outbox: the SMTP detail, shown only for a reason code the console has no words for',
  },
  {
    file: '/src/features/admin/webhooks/WebhooksPage.vue',
    text: 'return d.lastError',
    why: 'webhook delivery log: only for a delivery recorded before reason codes (lastErrorCode) or with a code the console has no words for',
  },
]

export interface Finding {
  line: number
  text: string
  rule: string
}

/** The reads of server text in one file's source. */
export function findRawServerText(source: string): Finding[] {
  const out: Finding[] = []
  source.split('\n').forEach((text, i) => {
    const add = (rule: string) => out.push({ line: i + 1, text: text.trim(), rule })
    // `.message` of anything, except the message ref of useApiErrors
    // (errors.message.value) and vue-i18n/naive-ui names that are not
    // property reads of an error.
    if (/\.message\b(?!\s*\.value)/.test(text) || /\[\s*['"]message['"]\s*\]/.test(text) || /\{[^}]*\bmessage\b[^}]*\}\s*=\s*[\w.?]*\b(err|error|e|body|detail)\b/.test(text)) {
      add('message')
    }
    // The values of an ApiError's fields (the English messages); the
    // names alone (Object.keys) are fine, and so are useApiErrors' own
    // fields (errors.fields, dialogErrors.fields), which hold worded text.
    for (const m of text.matchAll(/([\w.?]+)\.fields\b/g)) {
      const owner = m[1]!.split('.').pop()!.replace(/\?$/, '')
      if (/^(errors|\w+Errors|accounts)$/.test(owner)) continue
      if (text.slice(0, m.index).endsWith('Object.keys(')) continue
      add('fields')
    }
    if (/\blastError\b/.test(text)) add('lastError')
  })
  return out
}

describe('no raw server text in the console', () => {
  it('reads the console source', () => {
    const names = Object.keys(sources)
    expect(names.length).toBeGreaterThan(100)
    expect(names).toContain('/src/features/admin/webhooks/WebhooksPage.vue')
    expect(names).toContain('/src/features/admin/users/BulkDialog.vue')
    for (const f of exempt) expect(names).toContain(f)
  })

  it('catches the reads that showed English in 简体中文 before', () => {
    const before = [
      // WebhooksPage.vue: the form's field errors
      `    if (err instanceof ApiError && Object.keys(err.fields).length > 0) fieldErrors.value = err.fields`,
      // ExportDialog.vue and exportCsv.ts: a refused export
      `      return t('accounts.exportDialog.refused', { status: f.status, message: f.message })`,
      `      message = body.error?.message ?? message`,
      // BulkDialog.vue: a refusal without words
      "  return te(`apiErrors.${r.code}`) ? t(`apiErrors.${r.code}`) : r.message",
      // other spellings of the same reads
      `const text = err.fields[name]`,
      `const { message } = err.detail`,
      `<span>{{ d.lastError }}</span>`,
    ]
    for (const line of before) expect(findRawServerText(line), line).not.toEqual([])
  })

  it('lets the worded forms through', () => {
    const fine = [
      `<NAlert v-if="errors.message.value">{{ errors.message.value }}</NAlert>`,
      `:feedback="errors.fields.rateLimitEnabled"`,
      `if (dialogErrors.fields[f]) dialogErrors.setField(f, 'x')`,
      `const details = Object.keys(err.fields).map((name) => describeFieldError(err, name, t))`,
      `<NFormItem :label="t('accounts.fields.username')">`,
      `message.error(describeError(err, t))`,
    ]
    for (const line of fine) expect(findRawServerText(line), line).toEqual([])
  })

  it('finds no read of server text outside useApiErrors.ts', () => {
    const found: string[] = []
    const used = new Set<string>()
    for (const [file, source] of Object.entries(sources)) {
      if (exempt.has(file)) continue
      for (const f of findRawServerText(source)) {
        const ok = allowed.find((a) => a.file === file && f.text.includes(a.text))
        if (ok) {
          used.add(ok.file + ok.text)
          continue
        }
        found.push(`${file.slice(1)}:${f.line} (${f.rule}) ${f.text}`)
      }
    }
    expect(found, 'word these through describeError / describeFieldError / useApiErrors').toEqual([])
    const stale = allowed.filter((a) => !used.has(a.file + a.text)).map((a) => `${a.file}: ${a.text}`)
    expect(stale, 'allowed entries that no longer match: remove them').toEqual([])
  })
})
