// The "who can still sign in" summary of the sign-in methods tab, and the
// guard the API applies, previewed before saving.
import type { AdminSignIn, SigninSettings, SignInPath } from './api'

/** vue-i18n's t with named values and a plural count. */
export type Translate = (key: string, named: Record<string, unknown>, plural?: number) => string

const k = 'authSettings.signin.summary'

export type SummaryWarning = 'noAdmins' | 'onePath' | 'oneAdmin'

export interface SigninSummary {
  /** One sentence, e.g. "3 administrators can sign in with a username and password; 2 with email and password". */
  text: string
  warnings: SummaryWarning[]
}

function pathName(p: SignInPath, t: Translate): string {
  if (p.path === 'provider') return t(`${k}.path.provider`, { name: p.name || p.slug || '?' })
  return t(`${k}.path.${p.path}`, {})
}

/** Builds the summary sentence and its warnings from the API's adminSignInPaths. */
export function buildSigninSummary(signIn: AdminSignIn, t: Translate): SigninSummary {
  const paths = signIn.paths
  const parts = paths.map((p, i) =>
    i === 0
      ? t(`${k}.first`, { admins: t(`${k}.admins`, { n: p.admins }, p.admins), path: pathName(p, t) })
      : t(`${k}.more`, { n: p.admins, path: pathName(p, t) }),
  )
  const text = parts.length > 0 ? parts.join(t(`${k}.separator`, {})) : t(`${k}.nothing`, {})

  const warnings: SummaryWarning[] = []
  const usable = paths.filter((p) => p.admins > 0).length
  if (signIn.total === 0) warnings.push('noAdmins')
  else {
    if (usable < 2) warnings.push('onePath')
    if (signIn.total < 2) warnings.push('oneAdmin')
  }
  return { text, warnings }
}

export type GuardRefusal = 'password_signin_required' | 'would_lock_out_admins'

/**
 * What the API will refuse for a pending change, as far as the browser can
 * tell from the last answer: both password methods off, or only methods left
 * that no administrator can use. The API has the final word.
 */
export function previewGuard(form: SigninSettings, current: AdminSignIn | null): GuardRefusal | null {
  if (!form.usernameEnabled && !form.emailEnabled) return 'password_signin_required'
  if (!current) return null
  const known = new Map(current.paths.map((p) => [p.path, p.admins]))
  const remaining: number[] = []
  for (const path of ['username', 'email'] as const) {
    if (!form[`${path}Enabled`]) continue
    const admins = known.get(path)
    if (admins === undefined) return null // not counted while off: let the API decide
    remaining.push(admins)
  }
  return remaining.length > 0 && remaining.every((n) => n === 0) ? 'would_lock_out_admins' : null
}
