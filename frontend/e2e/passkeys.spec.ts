// Issue 17, passkeys end to end: real WebAuthn ceremonies in Chromium with a
// virtual authenticator (Chrome DevTools Protocol WebAuthn domain). A
// relying-party ID cannot be an IP address, so this spec has a server of its
// own whose --base-url is http://localhost:PORT, and the browser opens that.
import { request as playwrightRequest, type APIRequestContext, type Page } from '@playwright/test'
import { expect, test as base } from './fixtures'
import { startGatehouse, type RunningServer } from './server'

const rootUser = { username: 'root', password: 'quarry-lantern-5120', email: 'root@example.com' }
const alice = { username: 'alice', password: 'meadow-copper-4417', email: 'alice@example.com' }

const test = base.extend<{ server: RunningServer; adminApi: APIRequestContext }>({
  server: async ({}, use) => {
    const server = await startGatehouse('localhost')
    const res = await fetch(`${server.direct}/api/setup`, {
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
  adminApi: async ({ server }, use) => {
    const ctx = await playwrightRequest.newContext({ baseURL: server.direct })
    const res = await ctx.post('/api/auth/login', { data: { identifier: rootUser.username, password: rootUser.password } })
    expect(res.status(), await res.text()).toBe(200)
    await use(ctx)
    await ctx.dispose()
  },
})

/**
 * Gives the page a virtual platform authenticator with resident keys and
 * user verification. It answers by itself while "present"; the sign-in
 * page's autofill request (conditional mediation) is then answered at once,
 * so steps that must reach the password form take the person away first.
 */
async function addVirtualAuthenticator(page: Page): Promise<(present: boolean) => Promise<void>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  })
  return async (present) => {
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: present })
  }
}

async function signOut(page: Page): Promise<void> {
  const status = await page.evaluate(async () => (await fetch('/api/auth/logout', { method: 'POST' })).status)
  expect(status).toBe(204)
}

async function signInWithPassword(page: Page): Promise<void> {
  await page.goto('/login')
  await page.getByTestId('login-identifier').fill(alice.username)
  await page.getByTestId('login-password').fill(alice.password)
  await page.getByTestId('login-submit').click()
}

test('passkeys: enrol, second factor, passwordless, rename, remove, administrator reset', async ({ page, adminApi, browser, server }) => {
  test.setTimeout(180_000) // its own server, on a small shared machine
  const created = await adminApi.post('/api/admin/users', { data: { ...alice, displayName: 'Alice', role: 'user' } })
  expect(created.status(), await created.text()).toBe(201)
  const alicePublicId = ((await created.json()) as { publicId: string }).publicId
  const present = await addVirtualAuthenticator(page)

  await test.step('alice adds a passkey after her password', async () => {
    await signInWithPassword(page) // no passkey yet: the autofill offers none
    await expect(page).not.toHaveURL(/\/login/, { timeout: 30_000 })
    await page.goto('/account/security')
    await page.getByRole('button', { name: 'Add a passkey' }).click()
    await page.getByLabel('Passkey name').fill('Laptop')
    await page.getByTestId('passkey-current-password').fill(alice.password)
    await page.getByRole('button', { name: 'Create passkey' }).click()
    await expect(page.getByText('Passkey added.')).toBeVisible()
    await expect(page.getByTestId('passkey-item')).toHaveCount(1)
    await expect(page.getByTestId('passkey-item')).toContainText('Laptop')
    await expect(page.getByTestId('passkey-item')).toContainText('never used')
  })

  await test.step('the passkey is her second factor after the password', async () => {
    await signOut(page)
    await present(false)
    await signInWithPassword(page)
    await present(true)
    await page.getByRole('button', { name: 'Use a passkey' }).click()
    await expect(page).not.toHaveURL(/\/login/, { timeout: 30_000 })
    await page.goto('/account/security')
    await expect(page.getByTestId('passkey-item')).toContainText('last used')
  })

  await test.step('and signs her in without a password: from the autofill, and with the button', async () => {
    await signOut(page)
    await page.goto('/login') // the autofill request is answered by the present authenticator
    await expect(page).not.toHaveURL(/\/login/, { timeout: 30_000 })
    let me = await page.evaluate(async () => (await (await fetch('/api/me')).json()) as { username: string })
    expect(me.username).toBe(alice.username)

    // From here on the page offers no autofill (the present authenticator
    // would answer it before the button is pressed).
    await page.addInitScript(() => {
      Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', { value: async () => false })
    })
    await signOut(page)
    await page.goto('/login')
    await expect(page.getByTestId('login-identifier')).toHaveAttribute('autocomplete', 'username webauthn')
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await expect(page).not.toHaveURL(/\/login/, { timeout: 30_000 })
    me = await page.evaluate(async () => (await (await fetch('/api/me')).json()) as { username: string })
    expect(me.username).toBe(alice.username)
  })

  await test.step('she renames it, removes it, and adds another', async () => {
    await page.goto('/account/security')
    await page.getByRole('button', { name: 'Rename Laptop' }).click()
    await page.getByTestId('passkey-new-name').fill('Work laptop')
    await page.getByRole('button', { name: 'Save' }).click()
    await expect(page.getByTestId('passkey-item')).toContainText('Work laptop')
    await page.getByRole('button', { name: 'Remove Work laptop' }).click()
    await page.getByTestId('passkey-remove-password').fill(alice.password)
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click()
    await expect(page.getByText('Passkey removed.')).toBeVisible()
    await expect(page.getByTestId('passkey-item')).toHaveCount(0)

    await page.getByRole('button', { name: 'Add a passkey' }).click()
    await page.getByLabel('Passkey name').fill('Phone')
    await page.getByTestId('passkey-current-password').fill(alice.password)
    await page.getByRole('button', { name: 'Create passkey' }).click()
    await expect(page.getByTestId('passkey-item')).toContainText('Phone')
  })

  await test.step('an administrator resets her two-factor: the passkey goes, and the dialog says so', async () => {
    const ctx = await browser.newContext({ baseURL: server.direct })
    const admin = await ctx.newPage()
    const login = await admin.request.post('/api/auth/login', { data: { identifier: rootUser.username, password: rootUser.password } })
    expect(login.status()).toBe(200)
    await admin.goto(`/admin/users/${alicePublicId}`)
    try {
      await expect(admin.getByTestId('user-title')).toBeVisible({ timeout: 30_000 })
      await expect(admin.getByTestId('user-passkey-count')).toHaveText('1 passkey')
    } catch (err) {
      await admin.screenshot({ path: test.info().outputPath('admin-page.png') })
      throw err
    }
    await admin.getByTestId('user-reset-2fa').click()
    await expect(admin.getByTestId('security-dialog')).toContainText('Its 1 passkey is removed too.')
    await admin.getByTestId('security-dialog-confirm').click()
    await expect(admin.getByTestId('user-2fa-state')).toHaveText('Off')
    await ctx.close()

    await signOut(page)
    await page.goto('/login')
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await expect(page.getByTestId('login-error')).toContainText('The passkey could not sign you in')
    await expect(page).toHaveURL(/\/login/)
  })
})
