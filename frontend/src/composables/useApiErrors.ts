// Form error state: one message for the form and one per field, filled from
// an ApiError so that field errors show next to their fields.
import { reactive, ref, watch } from 'vue'
import { useI18n } from 'vue-i18n'
import { ApiError } from '@/api/client'

type Translate = (key: string, named?: Record<string, unknown>) => string
type Has = (key: string) => boolean

// Without te, a key counts as known when t gives something other than the key.
function known(t: Translate, te: Has | undefined, key: string): boolean {
  return te ? te(key) : t(key) !== key
}

/**
 * The words for one coded answer of the server (an error, or an item of a
 * list such as a bulk refusal): the code in the console's language, else
 * the server's English message. This file is the one place in the console
 * that shows a server message (noRawServerText.spec.ts keeps it so).
 */
export function describeCode(coded: { code?: string; message?: string; params?: Record<string, unknown> }, t: Translate, te?: Has): string {
  const key = `apiErrors.${coded.code}`
  if (coded.code && known(t, te, key)) return t(key, coded.params ?? {})
  return coded.message ?? ''
}

/** The text to show for any error thrown by an API call: the code in the
 * console's language, else the server's English message. */
export function describeError(err: unknown, t: Translate, te?: Has): string {
  if (err instanceof ApiError) {
    if (err.isNetwork) return t('errors.network')
    if (err.code === 'storage_unavailable') return t('errors.storageUnavailable')
    if (err.code === 'recent_sign_in_required') return t('errors.recentSignInRequired')
    if (err.code === 'account_locked') return t('errors.accountLocked')
    const text = describeCode({ code: err.code, message: err.message, params: err.detail.params }, t, te)
    return text || t('errors.unknown', { status: err.status })
  }
  return t('errors.unknown', { status: 0 })
}

/** The text for one field error: its code in the console's language, else
 * the server's English words. */
export function describeFieldError(err: ApiError, field: string, t: Translate, te?: Has): string {
  const fe = err.detail.fieldErrors?.[field]
  const key = fe ? `fieldErrors.${fe.code}` : ''
  if (fe && known(t, te, key)) return t(key, fe.params ?? {})
  return err.fields[field] ?? ''
}

export function useApiErrors() {
  const { t, te } = useI18n()
  const message = ref('')
  const fields = reactive<Record<string, string>>({})

  function clear(): void {
    message.value = ''
    for (const key of Object.keys(fields)) delete fields[key]
  }

  /** Shows err; returns it so callers can branch on the code. */
  function capture(err: unknown): unknown {
    clear()
    if (err instanceof ApiError && Object.keys(err.fields).length > 0) {
      for (const name of Object.keys(err.fields)) fields[name] = describeFieldError(err, name, t, te)
      // With field errors the per-field text says it all; keep the summary too.
      message.value = describeError(err, t, te)
    } else {
      message.value = describeError(err, t, te)
    }
    return err
  }

  function setField(name: string, text: string): void {
    fields[name] = text
  }

  /** Props for NFormItem: validation-status and feedback. */
  function field(name: string): { validationStatus?: 'error'; feedback?: string } {
    const text = fields[name]
    return text ? { validationStatus: 'error', feedback: text } : {}
  }

  function hasFieldErrors(): boolean {
    return Object.keys(fields).length > 0
  }

  /**
   * Drops a field's error as soon as its value changes (the message was
   * about the old value). source gives the form's values keyed like the
   * fields; rename maps a form key to the field name where they differ.
   */
  function clearOnEdit(source: () => Record<string, unknown> | null | undefined, rename: Record<string, string> = {}): void {
    let last: Record<string, string> = {}
    const snapshot = (): Record<string, string> => {
      const values = source() ?? {}
      return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, JSON.stringify(v) ?? '']))
    }
    last = snapshot()
    watch(
      snapshot,
      (now) => {
        for (const [k, v] of Object.entries(now)) {
          if (last[k] !== v) {
            const name = rename[k] ?? k
            if (name in fields) delete fields[name]
          }
        }
        last = now
      },
      { deep: true },
    )
  }

  return { message, fields, clear, capture, setField, field, hasFieldErrors, clearOnEdit }
}
