// A server of the spec's own, already set up, with a signed-in super
// administrator. Specs that build on accounts of their own use this `test`
// so that they work whether they run before or after console.spec.ts (which
// walks through first-run setup on the shared server).
import { request as playwrightRequest, type APIRequestContext, type Page } from '@playwright/test'
import { expect, test as base } from './fixtures'
import { startGatehouse, type RunningServer } from './server'
import type { components } from '../src/api/schema'

export type User = components['schemas']['User']
export type CreateUser = components['schemas']['CreateUser']

export const root = {
  username: 'root',
  displayName: 'Root Admin',
  email: 'root@example.com',
  password: 'quarry-lantern-5120',
}

interface AdminFixtures {
  /** The page, signed in as the super administrator. */
  adminPage: Page
  /** An API client signed in as the super administrator (its own cookies). */
  adminApi: APIRequestContext
}

export const test = base.extend<AdminFixtures, { ownServer: RunningServer }>({
  ownServer: [
    async ({}, use) => {
      const server = await startSetUpServer()
      await use(server)
      await server.stop()
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ ownServer }, use) => {
    await use(ownServer.base)
  },
  adminApi: async ({ ownServer }, use) => {
    const ctx = await playwrightRequest.newContext({ baseURL: ownServer.base })
    const res = await ctx.post('/api/auth/login', { data: { identifier: root.username, password: root.password } })
    expect(res.status(), await res.text()).toBe(200)
    await use(ctx)
    await ctx.dispose()
  },
  adminPage: async ({ page }, use) => {
    const res = await page.request.post('/api/auth/login', { data: { identifier: root.username, password: root.password } })
    expect(res.status(), await res.text()).toBe(200)
    await use(page)
  },
})

export { expect }

/**
 * Starts a server (env: extra environment variables), sets it up with the
 * root super administrator and lifts its sign-in rate limit. The caller
 * stops it.
 */
export async function startSetUpServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const server = await startGatehouse(undefined, env)
  try {
    const res = await fetch(`${server.base}/api/setup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: server.token, username: root.username, password: root.password, email: root.email }),
    })
    if (!res.ok) throw new Error(`setup failed: HTTP ${res.status} ${await res.text()}`)
    await relaxAuthRateLimit(server.base)
  } catch (err) {
    await server.stop()
    throw err
  }
  return server
}

/**
 * Every test signs in afresh (two sign-ins per test), and all specs on this
 * server share one client IP: lift the per-IP sign-in limit (20 a minute by
 * default) so that a long run is not refused with 429. The API tests cover
 * the limiter itself.
 */
async function relaxAuthRateLimit(base: string): Promise<void> {
  const login = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ identifier: root.username, password: root.password }),
  })
  if (!login.ok) throw new Error(`sign-in failed: HTTP ${login.status} ${await login.text()}`)
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  const headers = { 'Content-Type': 'application/json', Cookie: cookie }
  const current = (await (await fetch(`${base}/api/admin/settings/security`, { headers })).json()) as Record<string, unknown>
  const res = await fetch(`${base}/api/admin/settings/security`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ ...current, authRateLimitPerMinute: 1000 }),
  })
  if (!res.ok) throw new Error(`raising the sign-in rate limit failed: HTTP ${res.status} ${await res.text()}`)
  await fetch(`${base}/api/auth/logout`, { method: 'POST', headers })
}

/** A short tag that makes this run's usernames unique (tests may be retried). */
export function uniqueTag(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`
}

/** Creates an account through POST /api/admin/users. */
export async function createUser(api: APIRequestContext, body: Partial<CreateUser> & { username: string }): Promise<User> {
  const res = await api.post('/api/admin/users', {
    data: { password: 'meadow-copper-4417', displayName: body.username, ...body },
  })
  expect(res.status(), await res.text()).toBe(201)
  return (await res.json()) as User
}
