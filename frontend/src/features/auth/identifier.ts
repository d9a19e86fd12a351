import type { AuthOptions } from '@/api/types'

export type IdentifierLabelKey = 'auth.username' | 'auth.email' | 'auth.usernameOrEmail'

/** Which label the sign-in identifier field gets for the enabled methods. */
export function identifierLabelKey(options: Pick<AuthOptions, 'usernameEnabled' | 'emailEnabled'> | null): IdentifierLabelKey {
  if (!options) return 'auth.usernameOrEmail'
  if (options.usernameEnabled && !options.emailEnabled) return 'auth.username'
  if (options.emailEnabled && !options.usernameEnabled) return 'auth.email'
  return 'auth.usernameOrEmail'
}

/** Whether the password form is shown at all (both methods off: providers only). */
export function passwordSignInEnabled(options: Pick<AuthOptions, 'usernameEnabled' | 'emailEnabled'> | null): boolean {
  return !options || options.usernameEnabled || options.emailEnabled
}
