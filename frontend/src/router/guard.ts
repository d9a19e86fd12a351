// Where a navigation may go: setup first, then sign-in, then role checks.
import type { RouteLocationNormalized, RouteLocationRaw } from 'vue-router'
import type { User } from '@/api/types'
import { isAdminRole } from '@/stores/session'

export interface GuardDeps {
  setupPending: () => Promise<boolean>
  currentUser: () => Promise<User | null>
}

/**
 * The start page of a signed-in user: the Security page while a new
 * password is due (after an administrator's reset), else the console for
 * admins and the account for everyone else.
 */
export function homeFor(user: Pick<User, 'role'> & Partial<Pick<User, 'mustChangePassword' | 'secondFactorRequired'>>): RouteLocationRaw {
  if (user.mustChangePassword || user.secondFactorRequired) return { name: 'account-security' }
  return isAdminRole(user.role) ? { name: 'admin-users' } : { name: 'account-profile' }
}

/** The parts of the target location the decision looks at. */
export type GuardTarget = Pick<RouteLocationNormalized, 'fullPath' | 'meta' | 'matched'> & {
  query?: RouteLocationNormalized['query']
  name?: RouteLocationNormalized['name'] | null
}

export async function decideNavigation(
  to: GuardTarget,
  deps: GuardDeps,
): Promise<true | RouteLocationRaw> {
  let pending = false
  try {
    pending = await deps.setupPending()
  } catch {
    // If the status cannot be read, carry on: the pages show the API error.
  }
  if (pending) return to.name === 'setup' ? true : { name: 'setup' }
  // A setup link opened again after setup: the sign-in page says it was used.
  if (to.name === 'setup') return { name: 'login', ...(to.query?.token ? { query: { setup: 'used' } } : {}) }

  let user: User | null = null
  try {
    user = await deps.currentUser()
  } catch {
    user = null
  }

  if (to.name === 'home') return user ? homeFor(user) : { name: 'login' }
  if (to.meta.public) {
    // An application asked for a fresh sign-in (OpenID prompt=login or
    // max_age): the form shows although a session exists.
    if (to.name === 'login' && user && to.query?.prompt !== 'login') return homeFor(user)
    return true
  }
  if (!user) return { name: 'login', query: { next: to.fullPath } }
  // The API refuses everything else until the password is changed.
  if (user.mustChangePassword && to.name !== 'account-security') return { name: 'account-security' }
  // Likewise until a required second factor is added.
  if (user.secondFactorRequired && to.name !== 'account-security') return { name: 'account-security' }
  if (to.matched.some((r) => r.meta.admin) && !isAdminRole(user.role)) return { name: 'no-access' }
  return true
}
