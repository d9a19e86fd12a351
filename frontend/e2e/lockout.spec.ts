import type { Locator, Page } from '@playwright/test'
import { putGroup, startMockIdP } from './devtools'
import { expect, test as base } from './fixtures'
import { startGatehouse, type RunningServer } from './server'

// Issue 13 item 6 end to end: with password sign-in off and one
// administrator signing in through a provider (internal/devtools/mockoidc,
// built to bin/mockoidc by `make test-e2e`), the console refuses to demote
// or suspend that administrator and says why. The test has a server of its
// own, since it turns password sign-in off.

const rootUser = { username: 'root', password: 'quarry-lantern-5120', email: 'root@example.com' }

const test = base.extend<{ server: RunningServer }>({
  server: async ({}, use) => {
    const server = await startGatehouse()
    const res = await fetch(`${server.base}/api/setup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: server.token, ...rootUser }),
    })
    if (!res.ok) throw new Error(`setup failed: HTTP ${res.status} ${await res.text()}`)
    await use(server)
    await server.stop()
  },
  baseURL: async ({ server }, use) => {
    await use(server.base)
  },
})

async function choose(page: Page, select: Locator, option: string | RegExp): Promise<void> {
  await select.click()
  await page.locator('.n-base-select-option', { hasText: option }).first().click()
}

test('the only administrator who signs in through a provider cannot be demoted or suspended', async ({ page, browser, baseURL }) => {
  test.setTimeout(180_000) // its own server and provider, on a small shared machine
  const idp = await startMockIdP()
  try {
    const login = await page.request.post('/api/auth/login', { data: { identifier: rootUser.username, password: rootUser.password } })
    expect(login.status()).toBe(200)
    const api = page.request
    let anaId = ''

    await test.step('a provider is configured and ana signs in with it, then becomes an administrator', async () => {
      await putGroup(api, 'signin', { thirdPartyEnabled: true })
      const ep = (await (await api.post('/api/admin/identity-providers/discover', { data: { issuerUrl: idp.issuer } })).json()) as Record<string, string>
      const res = await api.post('/api/admin/identity-providers', {
        data: {
          slug: 'mock', name: 'Mock ID', type: 'oidc', clientId: idp.clientId, clientSecret: idp.clientSecret,
          issuerUrl: ep.issuerUrl, authorizationUrl: ep.authorizationUrl, tokenUrl: ep.tokenUrl, userinfoUrl: ep.userinfoUrl, jwksUrl: ep.jwksUrl,
          scopes: ['openid', 'email', 'profile'], loginEnabled: true, registrationEnabled: true,
        },
      })
      expect(res.status(), await res.text()).toBe(201)
      const ctx = await browser.newContext({ baseURL })
      const p = await ctx.newPage()
      const q = await fetch(`${idp.origin}/e2e/users`, { method: 'POST', body: JSON.stringify({ sub: 'p-ana', username: 'ana', email: 'ana@example.org', emailVerified: true }) })
      expect(q.status).toBe(204)
      await p.goto('/login')
      await p.getByTestId('provider-mock').click()
      // Signed in: the session answers (where the console lands is not this test's business).
      await expect.poll(async () => (await p.request.get('/api/me')).status(), { timeout: 20_000 }).toBe(200)
      const me = (await (await p.request.get('/api/me')).json()) as { publicId: string; username: string }
      expect(me.username).toBe('ana')
      anaId = me.publicId
      await ctx.close()
      const promote = await api.patch(`/api/admin/users/${anaId}`, { data: { role: 'admin' } })
      expect(promote.status(), await promote.text()).toBe(200)
    })

    await test.step('password sign-in goes off: the provider is the only way in, and only ana has it', async () => {
      await putGroup(api, 'signin', { usernameEnabled: false, emailEnabled: false, thirdPartyEnabled: true })
    })

    await test.step('demoting ana is refused with the reason', async () => {
      await page.goto(`/admin/users/${anaId}`)
      await choose(page, page.getByTestId('user-role'), /^User$/)
      await page.getByTestId('user-role-save').click()
      const dialog = page.getByTestId('role-dialog')
      await expect(dialog).toBeVisible()
      await page.getByTestId('role-dialog-reason').fill('cleanup')
      await page.getByTestId('role-dialog-confirm').click()
      await expect(page.getByTestId('role-dialog-error')).toContainText('last administrator who can sign in')
      await page.getByTestId('role-dialog-cancel').click()
      await expect(page.getByTestId('role-dialog')).toBeHidden()
    })

    await test.step('suspending ana is refused with the reason', async () => {
      await choose(page, page.getByTestId('user-status-select'), /^Suspended$/)
      await page.getByTestId('user-status-change').click()
      await expect(page.getByTestId('status-dialog')).toBeVisible()
      await page.getByTestId('status-dialog-reason').fill('cleanup')
      await page.getByTestId('status-dialog-confirm').click()
      await expect(page.getByTestId('status-dialog-error')).toContainText('last administrator who can sign in')
      await page.getByTestId('status-dialog-cancel').click()
    })

    await test.step('ana is unchanged and still signs in through the provider', async () => {
      const ana = (await (await api.get(`/api/admin/users/${anaId}`)).json()) as { user: { role: string; status: string } }
      expect(ana.user).toMatchObject({ role: 'admin', status: 'active' })
      const ctx = await browser.newContext({ baseURL })
      const p = await ctx.newPage()
      await fetch(`${idp.origin}/e2e/users`, { method: 'POST', body: JSON.stringify({ sub: 'p-ana', username: 'ana', email: 'ana@example.org', emailVerified: true }) })
      await p.goto('/login')
      await p.getByTestId('provider-mock').click()
      await expect.poll(async () => (await p.request.get('/api/me')).status(), { timeout: 20_000 }).toBe(200)
      expect(((await (await p.request.get('/api/me')).json()) as { username: string }).username).toBe('ana')
      await ctx.close()
    })
  } finally {
    idp.proc.kill('SIGTERM')
  }
})
