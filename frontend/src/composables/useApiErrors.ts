// Form error state: one message for the form and one per field, filled from
// an ApiError so that field errors show next to their fields.
import { reactive, ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { ApiError } from '@/api/client'

type Translate = (key: string, named?: Record<string, unknown>) => string

/** The text to show for any error thrown by an API call. */
export function describeError(err: unknown, t: Translate): string {
  if (err instanceof ApiError) {
    if (err.isNetwork) return t('errors.network')
    if (err.code === 'storage_unavailable') return t('errors.storageUnavailable')
    if (err.code === 'recent_sign_in_required') return t('errors.recentSignInRequired')
    if (err.code === 'account_locked') return t('errors.accountLocked')
    if (err.message) return err.message
    return t('errors.unknown', { status: err.status })
  }
  return t('errors.unknown', { status: 0 })
}

export function useApiErrors() {
  const { t } = useI18n()
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
      Object.assign(fields, err.fields)
      // With field errors the per-field text says it all; keep the summary too.
      message.value = err.message
    } else {
      message.value = describeError(err, t)
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

  return { message, fields, clear, capture, setField, field, hasFieldErrors }
}
