import { describe, expect, it } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import type { User } from '@/api/types'
import { decideNavigation, type GuardDeps } from './guard'
import { routes } from './routes'

const router = createRouter({ history: createMemoryHistory(), routes })

function userWith(role: User['role']): User {
  return { role } as User
}

function deps(pending: boolean, user: User | null): GuardDeps {
  return { setupPending: async () => pending, currentUser: async () => user }
}

async function decide(path: string, d: GuardDeps) {
  return decideNavigation(router.resolve(path), d)
}

describe('decideNavigation', () => {
  it('sends everyone to /setup while setup is pending', async () => {
    expect(await decide('/login', deps(true, null))).toEqual({ name: 'setup' })
    expect(await decide('/admin/audit', deps(true, null))).toEqual({ name: 'setup' })
    expect(await decide('/setup?token=abc', deps(true, null))).toBe(true)
  })

  it('leaves /setup for /login once setup is done', async () => {
    expect(await decide('/setup?token=abc', deps(false, null))).toEqual({ name: 'login', query: { setup: 'used' } })
    expect(await decide('/setup', deps(false, null))).toEqual({ name: 'login' })
  })

  it('sends signed-out visitors to /login with next', async () => {
    expect(await decide('/account/security', deps(false, null))).toEqual({
      name: 'login',
      query: { next: '/account/security' },
    })
    expect(await decide('/admin/audit?page=2', deps(false, null))).toEqual({
      name: 'login',
      query: { next: '/admin/audit?page=2' },
    })
  })

  it('lets signed-out visitors see public pages', async () => {
    expect(await decide('/login', deps(false, null))).toBe(true)
    expect(await decide('/no/such/page', deps(false, null))).toBe(true)
  })

  it('keeps plain users out of the admin console', async () => {
    expect(await decide('/admin/audit', deps(false, userWith('user')))).toEqual({ name: 'no-access' })
    expect(await decide('/account/profile', deps(false, userWith('user')))).toBe(true)
  })

  it.each(['admin', 'super_admin'] as const)('lets %s into the admin console', async (role) => {
    expect(await decide('/admin/audit', deps(false, userWith(role)))).toBe(true)
  })

  it('sends / and /login to the start page of the signed-in user', async () => {
    expect(await decide('/', deps(false, userWith('user')))).toEqual({ name: 'account-profile' })
    expect(await decide('/', deps(false, userWith('admin')))).toEqual({ name: 'admin-users' })
    expect(await decide('/login', deps(false, userWith('super_admin')))).toEqual({ name: 'admin-users' })
    expect(await decide('/', deps(false, null))).toEqual({ name: 'login' })
  })

  it('shows /login to a signed-in user when an application asks for a fresh sign-in', async () => {
    expect(await decide('/login?prompt=login&next=%2Foauth%2Fresume%3Fid%3Dx', deps(false, userWith('user')))).toBe(true)
    expect(await decide('/login?next=%2Foauth%2Fresume%3Fid%3Dx', deps(false, userWith('user')))).toEqual({
      name: 'account-profile',
    })
  })

  it('treats a failing status call as "not pending"', async () => {
    const d: GuardDeps = {
      setupPending: async () => {
        throw new Error('down')
      },
      currentUser: async () => null,
    }
    expect(await decide('/login', d)).toBe(true)
  })
})

describe('a password change that an administrator required', () => {
  const due = { role: 'admin', mustChangePassword: true } as User
  it.each(['/admin/users', '/account/profile', '/', '/login'])('sends %s to the Security page', async (path) => {
    expect(await decide(path, deps(false, due))).toEqual({ name: 'account-security' })
  })
  it('lets the Security page open', async () => {
    expect(await decide('/account/security', deps(false, due))).toBe(true)
  })
})
