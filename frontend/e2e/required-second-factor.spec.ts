// Issue 17, required second factors end to end: the administrator requires
// one for administrators in Login security; an administrator without one
// signs in, is sent to enrolment, can reach nothing else (pages or API)
// until she enrols TOTP, and then reaches the console. The console lists
// who has not enrolled yet. A server of its own: the rule covers every
// administrator on it.
import { createHmac } from 'node:crypto'
import { type Locator, type Page } from '@playwright/test'
import { expect, root, startSetUpServer, test as base } from './admin-fixtures'
import type { RunningServer } from './server'

const test = base.extend<{ server: RunningServer }>({
  server: async ({}, use) => {
    const server = await startSetUpServer()
    await use(server)
    await server.stop()
  },
  baseURL: async ({ server }, use) => {
    await use(server.base)
  },
})

function base32Decode(s: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of s.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const bytes: number[] = []
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2))
  return Buffer.from(bytes)
}

/** RFC 6238 code for the given time step (SHA-1, 6 digits, 30 s). */
function totp(secret: string, step = Math.floor(Date.now() / 30_000)): string {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(step))
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest()
  const off = mac[mac.length - 1]! & 0xf
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000
  return n.toString().padStart(6, '0')
}

async function choose(page: Page, select: Locator, option: string | RegExp): Promise<void> {
  await select.click()
  await page.locator('.n-base-select-option', { hasText: option }).first().click()
}

const ann = { username: 'ann', displayName: 'Ann Admin', email: 'ann@example.com', password: 'copper-meadow-7731', role: 'admin' }

test('a required second factor: set in the console, enforced until enrolment, then the console opens', async ({ page, browser, server }) => {
  test.setTimeout(300_000) // its own server, on a small shared machine
  const rootApi = page.request
  await test.step('root signs in and enrols TOTP first (the rule will cover root too)', async () => {
    const login = await rootApi.post('/api/auth/login', { data: { identifier: root.username, password: root.password } })
    expect(login.status(), await login.text()).toBe(200)
    const setup = await rootApi.post('/api/me/2fa/setup', { data: { password: root.password } })
    expect(setup.status(), await setup.text()).toBe(200)
    const { secret } = (await setup.json()) as { secret: string }
    const enable = await rootApi.post('/api/me/2fa/enable', { data: { password: root.password, code: totp(secret) } })
    expect(enable.status(), await enable.text()).toBe(200)
    const created = await rootApi.post('/api/admin/users', { data: ann })
    expect(created.status(), await created.text()).toBe(201)
  })

  await test.step('root requires a second factor for administrators in Login security', async () => {
    await page.goto('/admin/auth/security')
    await choose(page, page.getByTestId('security-require-second-factor'), /^Administrators$/)
    await page.getByTestId('security-save').click()
    await expect(page.getByText('Settings saved.')).toBeVisible()
    const stored = (await (await rootApi.get('/api/admin/settings/security')).json()) as Record<string, unknown>
    expect(stored).toMatchObject({ requireSecondFactor: 'admins', secondFactorGraceDays: 0 })
  })

  await test.step('the console lists who has not enrolled yet: ann, not root', async () => {
    await page.getByTestId('security-not-enrolled').click()
    await expect(page).toHaveURL(/twoFactor=off/)
    const rows = page.getByTestId('user-row')
    await expect(rows.filter({ hasText: ann.displayName })).toHaveCount(1)
    await expect(rows.filter({ hasText: root.displayName })).toHaveCount(0)
  })

  const ctx = await browser.newContext({ baseURL: server.base })
  const a = await ctx.newPage()
  await test.step('ann signs in with her password and is sent to enrolment', async () => {
    await a.goto('/login')
    await a.getByTestId('login-identifier').fill(ann.username)
    await a.getByTestId('login-password').fill(ann.password)
    await a.getByTestId('login-submit').click()
    // argon2id on a small shared machine: give the sign-in time.
    await expect(a).toHaveURL(/\/account\/security$/, { timeout: 30_000 })
    await expect(a.getByTestId('must-enrol-second-factor')).toBeVisible()
  })

  await test.step('every other console page and API answer is refused until she enrols', async () => {
    for (const path of ['/admin/users', '/admin/auth/security', '/admin/audit', '/account/profile']) {
      await a.goto(path)
      await expect(a).toHaveURL(/\/account\/security$/)
      await expect(a.getByTestId('must-enrol-second-factor')).toBeVisible()
    }
    for (const path of ['/api/admin/users', '/api/admin/settings/security', '/api/admin/audit', '/api/me/sessions', '/api/me/sign-ins']) {
      const res = await a.request.get(path)
      expect(res.status(), path).toBe(403)
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('second_factor_required')
    }
    const me = (await (await a.request.get('/api/me')).json()) as { secondFactorRequired: boolean }
    expect(me.secondFactorRequired).toBe(true)
  })

  await test.step('ann enrols TOTP with a code computed from the secret', async () => {
    await a.getByTestId('two-factor-start').getByLabel('Current password').fill(ann.password)
    await a.getByTestId('two-factor-setup').click()
    await expect(a.getByTestId('two-factor-qr')).toBeVisible()
    const secret = (await a.getByTestId('two-factor-secret').textContent())!.replace(/\s+/g, '')
    await a.getByTestId('two-factor-code').fill(totp(secret))
    await a.getByTestId('two-factor-confirm').click()
    await expect(a.getByText(/recovery codes/i).first()).toBeVisible({ timeout: 30_000 })
    await expect(a.getByTestId('must-enrol-second-factor')).toHaveCount(0)
  })

  await test.step('now the console opens to her', async () => {
    await a.goto('/admin/users')
    await expect(a).toHaveURL(/\/admin\/users/)
    await expect(a.getByTestId('user-row').first()).toBeVisible()
    expect((await a.request.get('/api/admin/users')).status()).toBe(200)
  })

  await test.step('and the not-enrolled list no longer names her', async () => {
    await page.goto('/admin/users?twoFactor=off&role=admin')
    await expect(page.getByTestId('users-search')).toBeVisible()
    await expect(page.getByTestId('user-row').filter({ hasText: ann.displayName })).toHaveCount(0)
  })
  await ctx.close()
})
