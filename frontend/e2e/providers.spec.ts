import type { APIRequestContext } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'
import { putGroup, queuePerson, startMockIdP, type MockIdP } from './devtools'

// Identity providers end to end: an administrator adds an OIDC provider by
// discovery, a new person signs in with it (and gets an account), and a
// person with a password links it from the account page, and the
// administrator sees both links and unlinks the one that is not the
// account's only way in. The provider is
// internal/devtools/mockoidc (built to bin/mockoidc by `make test-e2e`).

test('an administrator adds a provider by discovery, a person signs in with it, another links it, the administrator unlinks it', async ({ adminPage: page, adminApi, browser, baseURL }) => {
  const idp = await startMockIdP()
  try {
    await putGroup(adminApi, 'signin', { thirdPartyEnabled: true })

    await test.step('the administrator adds the provider with discovery', async () => {
      await page.goto('/admin/auth/providers')
      await page.getByTestId('provider-add').click()
      const editor = page.getByTestId('provider-editor')
      await expect(editor).toBeVisible()
      await editor.getByTestId('provider-name').locator('input').fill('Mock ID')
      await editor.getByTestId('provider-slug').locator('input').fill('mock')
      await editor.getByTestId('provider-client-id').locator('input').fill(idp.clientId)
      await editor.getByTestId('provider-client-secret').locator('input').fill(idp.clientSecret)
      await editor.getByTestId('provider-issuer').locator('input').fill(idp.issuer)
      await editor.getByTestId('provider-discover').click()
      await expect(editor.getByTestId('provider-token-url').locator('input')).toHaveValue(`${idp.issuer}/token`)
      await editor.getByTestId('provider-registration').click()
      await editor.getByTestId('provider-save').click()
      await expect(editor.getByTestId('provider-callback').locator('input')).toHaveValue(`${baseURL}/api/auth/oidc/mock/callback`)
      await page.keyboard.press('Escape')
      await expect(page.getByTestId('provider-row-mock')).toBeVisible()
    })

    const tag = uniqueTag('idp')
    await test.step('a new person signs in with the provider and gets an account', async () => {
      const ctx = await browser.newContext({ baseURL })
      const p = await ctx.newPage()
      await queuePerson(idp, { sub: `${tag}-new`, username: tag, email: `${tag}@example.org` })
      await p.goto('/login')
      await p.getByTestId('provider-mock').click()
      await expect(p).toHaveURL(/\/account\//)
      const me = (await (await p.request.get('/api/me')).json()) as { username: string; emailVerified: boolean; hasPassword: boolean }
      expect(me).toMatchObject({ username: tag, emailVerified: true, hasPassword: false })
      await ctx.close()
    })

    await test.step('a person with a password links the provider from the account page', async () => {
      const name = `${tag}b`
      await createUser(adminApi, { username: name, email: `${name}@example.com` })
      const ctx = await browser.newContext({ baseURL })
      const p = await ctx.newPage()
      const res = await p.request.post('/api/auth/login', { data: { identifier: name, password: 'meadow-copper-4417' } })
      expect(res.status()).toBe(200)
      await p.goto('/account/providers')
      await expect(p.getByText('No providers are linked to your account.')).toBeVisible()
      await queuePerson(idp, { sub: `${tag}-link`, username: name, email: `${name}@example.com` })
      await p.getByTestId('link-mock').click()
      // A link adds a way in: the current password confirms it.
      const dialog = p.getByRole('dialog')
      await dialog.getByLabel('Current password').fill('not-my-password-1')
      await dialog.getByTestId('link-dialog-submit').click()
      await expect(dialog.getByText('This is not correct.', { exact: true })).toBeVisible()
      await dialog.getByLabel('Current password').fill('meadow-copper-4417')
      await dialog.getByTestId('link-dialog-submit').click()
      await expect(p).toHaveURL(/\/account\/providers\?linked=mock/)
      await expect(p.getByTestId('link-notice')).toBeVisible()
      await expect(p.getByTestId('linked-mock')).toBeVisible()
      await expect(p.getByTestId('unlink-mock')).toBeEnabled()
      await ctx.close()
    })

    await test.step('a person whose account speaks Chinese signs in with the provider: the console switches to Chinese', async () => {
      // The sign-in form applies the account's language itself; a provider
      // sign-in ends with the console loading afresh (issue 15).
      const name = `${tag}b`
      const list = (await (await adminApi.get(`/api/admin/users?q=${name}`)).json()) as { items: { username: string; publicId: string }[] }
      const linker = list.items.find((u) => u.username === name)
      expect(linker).toBeTruthy()
      const res = await adminApi.patch(`/api/admin/users/${linker!.publicId}`, { data: { language: 'zh-CN' } })
      expect(res.status(), await res.text()).toBe(200)
      const ctx = await browser.newContext({ baseURL, locale: 'en-US' })
      const p = await ctx.newPage()
      await p.goto('/login')
      await expect(p.locator('html')).toHaveAttribute('lang', 'en')
      await queuePerson(idp, { sub: `${tag}-link`, username: name, email: `${name}@example.com` })
      await p.getByTestId('provider-mock').click()
      await expect(p).toHaveURL(/\/account\//)
      await expect(p.locator('html')).toHaveAttribute('lang', 'zh-CN')
      await expect(p).toHaveTitle(/个人资料/)
      await ctx.close()
    })

    await test.step('an administrator sees the links on the account pages and unlinks one', async () => {
      const list = (await (await adminApi.get(`/api/admin/users?q=${tag}`)).json()) as { items: { username: string; publicId: string }[] }
      const made = list.items.find((u) => u.username === tag)
      const linker = list.items.find((u) => u.username === `${tag}b`)
      expect(made && linker).toBeTruthy()
      const rows = page.getByTestId('user-identity-row')

      // The account the provider made has no password: its link is its only way in.
      await page.goto(`/admin/users/${made!.publicId}`)
      await expect(rows).toHaveCount(1)
      await expect(rows.first().getByTestId('user-identity-subject')).toHaveText(`${tag}-new`)
      await expect(rows.first().getByTestId('user-identity-unlink')).toBeDisabled()

      await page.goto(`/admin/users/${linker!.publicId}`)
      await expect(rows).toHaveCount(1)
      await expect(rows.first().getByTestId('user-identity-subject')).toHaveText(`${tag}-link`)
      await rows.first().getByTestId('user-identity-unlink').click()
      const dialog = page.getByTestId('security-dialog')
      await expect(dialog).toContainText(`${tag}-link`)
      await dialog.getByTestId('security-dialog-reason').fill('linked by mistake')
      await dialog.getByTestId('security-dialog-confirm').click()
      await expect(dialog).toBeHidden()
      await expect(rows).toHaveCount(0)
      await expect(page.getByTestId('user-identities')).toContainText('No provider is linked to this account.')
      const audit = (await (await adminApi.get(`/api/admin/audit?action=account.identity_unlinked&target=${linker!.publicId}`)).json()) as {
        items: { reason: string }[]
      }
      expect(audit.items.map((e) => e.reason)).toEqual(['linked by mistake'])
    })
  } finally {
    idp.proc.kill('SIGTERM')
  }
})

/** Adds a provider for idp through the API (as the super administrator) and answers its id. */
async function addProvider(api: APIRequestContext, idp: MockIdP, slug: string, extra: Record<string, unknown> = {}): Promise<number> {
  const ep = await api.post('/api/admin/identity-providers/discover', { data: { issuerUrl: idp.issuer } })
  expect(ep.status(), await ep.text()).toBe(200)
  const res = await api.post('/api/admin/identity-providers', {
    data: { ...(await ep.json()), scopesSupported: undefined, slug, name: `Mock ${slug}`, type: 'oidc', clientId: idp.clientId, clientSecret: idp.clientSecret, loginEnabled: true, ...extra },
  })
  expect(res.status(), await res.text()).toBe(201)
  return ((await res.json()) as { id: number }).id
}

test('an administrator sees identity providers read-only and cannot turn third-party sign-in on', async ({ adminApi, browser, baseURL }) => {
  const idp = await startMockIdP()
  try {
    const slug = uniqueTag('ro')
    await addProvider(adminApi, idp, slug)
    await putGroup(adminApi, 'signin', { thirdPartyEnabled: false })
    const name = uniqueTag('adm')
    await createUser(adminApi, { username: name, email: `${name}@example.com`, role: 'admin' })
    const ctx = await browser.newContext({ baseURL })
    const page = await ctx.newPage()
    const login = await page.request.post('/api/auth/login', { data: { identifier: name, password: 'meadow-copper-4417' } })
    expect(login.status()).toBe(200)

    await test.step('the providers tab lists them without controls that change them', async () => {
      await page.goto('/admin/auth/providers')
      await expect(page.getByTestId('providers-read-only')).toBeVisible()
      await expect(page.getByTestId(`provider-row-${slug}`)).toBeVisible()
      await expect(page.getByTestId('provider-add')).toHaveCount(0)
      await expect(page.getByTestId(`provider-edit-${slug}`)).toHaveCount(0)
      await expect(page.getByTestId(`provider-delete-${slug}`)).toHaveCount(0)
      await expect(page.getByTestId(`provider-up-${slug}`)).toHaveCount(0)
      await page.getByTestId(`provider-view-${slug}`).click()
      const editor = page.getByTestId('provider-editor')
      await expect(editor).toBeVisible()
      await expect(editor.getByTestId('provider-name').locator('input')).toBeDisabled()
      await expect(editor.getByTestId('provider-token-url').locator('input')).toBeDisabled()
      await expect(editor.getByTestId('provider-autolink')).toHaveClass(/n-switch--disabled/)
      await expect(editor.getByTestId('provider-save')).toHaveCount(0)
      await expect(editor.getByTestId('provider-discover')).toHaveCount(0)
      await editor.getByTestId('provider-close').click()
      await expect(editor).toBeHidden()
    })

    await test.step('the API refuses their changes', async () => {
      const list = (await (await page.request.get('/api/admin/identity-providers')).json()) as { items: { id: number; slug: string }[] }
      const id = list.items.find((p) => p.slug === slug)!.id
      const res = await page.request.patch(`/api/admin/identity-providers/${id}`, { data: { autoLinkByEmail: true } })
      expect(res.status()).toBe(403)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('super_admin_required')
    })

    await test.step('third-party sign-in cannot be turned on', async () => {
      await page.goto('/admin/auth/signin')
      await expect(page.getByTestId('signin-third-party')).toHaveClass(/n-switch--disabled/)
      await expect(page.getByTestId('signin-third-party-super-only')).toBeVisible()
      const cur = (await (await page.request.get('/api/admin/settings/signin')).json()) as Record<string, unknown>
      const res = await page.request.put('/api/admin/settings/signin', { data: { ...cur, thirdPartyEnabled: true } })
      expect(res.status()).toBe(403)
    })
    await ctx.close()
  } finally {
    idp.proc.kill('SIGTERM')
  }
})

test("a provider asserting a super administrator's verified email does not sign the browser into that account", async ({ adminApi, browser, baseURL }) => {
  const idp = await startMockIdP()
  try {
    const slug = uniqueTag('al')
    await addProvider(adminApi, idp, slug, { autoLinkByEmail: true, registrationEnabled: true })
    await putGroup(adminApi, 'signin', { thirdPartyEnabled: true })
    const boss = uniqueTag('boss')
    const made = await createUser(adminApi, { username: boss, email: `${boss}@example.com`, role: 'super_admin' })
    const verify = await adminApi.patch(`/api/admin/users/${made.publicId}`, { data: { emailVerified: true } })
    expect(verify.status(), await verify.text()).toBe(200)

    const ctx = await browser.newContext({ baseURL })
    const page = await ctx.newPage()
    await queuePerson(idp, { sub: `${boss}-idp`, username: boss, email: `${boss}@example.com` })
    await page.goto('/login')
    await page.getByTestId(`provider-${slug}`).click()
    await expect(page).toHaveURL(/\/login\?error=privileged_account_link/)
    await expect(page.getByText('This email belongs to an administrator account')).toBeVisible()
    expect((await page.request.get('/api/me')).status()).toBe(401)
    const ids = (await (await adminApi.get(`/api/admin/users/${made.publicId}/identities`)).json()) as { items: unknown[] }
    expect(ids.items).toHaveLength(0)
    const audit = (await (await adminApi.get(`/api/admin/audit?action=auth.login_failed&target=${made.publicId}`)).json()) as {
      items: { details: Record<string, unknown> }[]
    }
    expect(audit.items.some((e) => e.details.reason === 'provider_privileged_account_link')).toBe(true)
    await ctx.close()
  } finally {
    idp.proc.kill('SIGTERM')
  }
})
