import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { APIRequestContext } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

// Identity providers end to end: an administrator adds an OIDC provider by
// discovery, a new person signs in with it (and gets an account), and a
// person with a password links it from the account page, and the
// administrator sees both links and unlinks the one that is not the
// account's only way in. The provider is
// internal/devtools/mockoidc (built to bin/mockoidc by `make test-e2e`).

const root = resolve(import.meta.dirname, '..', '..')

interface MockIdP {
  issuer: string
  origin: string
  clientId: string
  clientSecret: string
  proc: ChildProcess
}

async function startMockIdP(): Promise<MockIdP> {
  const bin = join(root, 'bin', 'mockoidc')
  if (!existsSync(bin)) throw new Error(`${bin} not found: build it (go build -o bin/mockoidc ./internal/devtools/mockoidc)`)
  const proc = spawn(bin, ['-addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('mockoidc did not start')), 10_000)
    createInterface({ input: proc.stdout! }).once('line', (l) => {
      clearTimeout(timer)
      ok(l)
    })
  })
  const m = /^ISSUER (\S+) CLIENT_ID (\S+) CLIENT_SECRET (\S+)$/.exec(line)
  if (!m) throw new Error(`unexpected mockoidc line: ${line}`)
  return { issuer: m[1]!, origin: new URL(m[1]!).origin, clientId: m[2]!, clientSecret: m[3]!, proc }
}

/** Queues the person the provider signs in at its next authorization. */
async function queuePerson(idp: MockIdP, person: { sub: string; username: string; email: string }): Promise<void> {
  const res = await fetch(`${idp.origin}/e2e/users`, { method: 'POST', body: JSON.stringify({ ...person, emailVerified: true }) })
  expect(res.status).toBe(204)
}

async function putGroup(api: APIRequestContext, group: string, fields: Record<string, unknown>): Promise<void> {
  const cur = (await (await api.get(`/api/admin/settings/${group}`)).json()) as Record<string, unknown>
  const res = await api.put(`/api/admin/settings/${group}`, { data: { ...cur, ...fields } })
  expect(res.status(), await res.text()).toBe(200)
}

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
      await expect(dialog.getByText('is not correct', { exact: true })).toBeVisible()
      await dialog.getByLabel('Current password').fill('meadow-copper-4417')
      await dialog.getByTestId('link-dialog-submit').click()
      await expect(p).toHaveURL(/\/account\/providers\?linked=mock/)
      await expect(p.getByTestId('link-notice')).toBeVisible()
      await expect(p.getByTestId('linked-mock')).toBeVisible()
      await expect(p.getByTestId('unlink-mock')).toBeEnabled()
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
