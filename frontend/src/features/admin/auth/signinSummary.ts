// The "who can still sign in" summary of the sign-in methods tab, from the
// API's adminSignInPaths (stored, or a dry run's for a pending change).
import type { AdminSignIn, SignInPath } from './api'

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
