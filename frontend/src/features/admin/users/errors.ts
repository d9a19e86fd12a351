// Error codes of the admin API that the console explains in its own words
// (both languages) instead of showing the server's English message.
import { ApiError } from '@/api/client'
import { describeError } from '@/composables/useApiErrors'

type Translate = (key: string, named?: Record<string, unknown>) => string

export const explainedCodes = [
  'super_admin_protected',
  'super_admin_grant',
  'self_change',
  'last_super_admin',
  'would_lock_out_admins',
  'negative_balance',
  'plan_in_use',
  'bulk_refused',
  'stale_version',
  'validation_failed',
  'not_found',
  'too_many_targets',
  'password_signin_required',
  'conflict',
] as const
export type ExplainedCode = (typeof explainedCodes)[number]

export function isExplainedCode(code: string): code is ExplainedCode {
  return (explainedCodes as readonly string[]).includes(code)
}

/** The i18n key that explains an error code, or null when it has none. */
export function errorCodeKey(code: string): string | null {
  return isExplainedCode(code) ? `accounts.errorCodes.${code}` : null
}

/** True for an ApiError with the given code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof ApiError && err.code === code
}

/**
 * The text for any error of an admin call: our words for known codes, the
 * generic words for field errors (the fields show their own), and otherwise
 * what the shared describeError says.
 */
export function describeAdminError(err: unknown, t: Translate): string {
  if (err instanceof ApiError && !err.isNetwork) {
    const key = errorCodeKey(err.code)
    if (key) return t(key)
    if (Object.keys(err.fields).length > 0) return t('accounts.errorCodes.validation_failed')
  }
  return describeError(err, t)
}
