import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { APIRequestContext } from '@playwright/test'
import { expect, test, uniqueTag } from './admin-fixtures'

// Planted accounts (issue 13, item 5) end to end: a provider that does not
// verify email addresses (internal/devtools/mockoidc, email_verified
// false) registers an account holding someone else's address; the owner
// of the mailbox registers and confirms it through our link and owns it;
// the planted account loses it and its identity reaches only itself.
// mockoidc and mailsink are built to bin/ by `make test-e2e`.

const root = resolve(import.meta.dirname, '..', '..')

async function startTool(name: string, args: string[]): Promise<{ line: string; proc: ChildProcess }> {
  const bin = join(root, 'bin', name)
  if (!existsSync(bin)) throw new Error(`${bin} not found: build it (go build -o bin/${name} ./internal/devtools/${name})`)
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start`)), 10_000)
    createInterface({ input: proc.stdout! }).once('line', (l) => {
      clearTimeout(timer)
      ok(l)
    })
  })
  return { line, proc }
}

async function waitForMail(http: string, to: string, subject: string): Promise<{ text: string }> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const res = await fetch(`${http}/messages?to=${encodeURIComponent(to)}`)
    const list = (await res.json()) as { subject: string; text: string }[]
    const hit = list.reverse().find((m) => m.subject.includes(subject))
    if (hit) return hit
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`no email to ${to} about "${subject}"`)
}

async function putGroup(api: APIRequestContext, group: string, fields: Record<string, unknown>): Promise<void> {
  const cur = (await (await api.get(`/api/admin/settings/${group}`)).json()) as Record<string, unknown>
  const res = await api.put(`/api/admin/settings/${group}`, { data: { ...cur, ...fields } })
  expect(res.status(), await res.text()).toBe(200)
}

interface Me {
  publicId: string
  username: string
  email: string | null
  emailVerified: boolean
}

test('an address a provider did not verify goes to whoever proves it; the planted identity never reaches the owner', async ({ adminApi, browser, baseURL }) => {
  // Two helper processes, a registration, a confirmation and three
  // sign-ins (each a password hash): more than the default minute on a
  // busy machine.
  test.setTimeout(180_000)
  const idpTool = await startTool('mockoidc', ['-addr', '127.0.0.1:0'])
  const sinkTool = await startTool('mailsink', ['-smtp', '127.0.0.1:0', '-http', '127.0.0.1:0'])
  const idpLine = /^ISSUER (\S+) CLIENT_ID (\S+) CLIENT_SECRET (\S+)$/.exec(idpTool.line)
  const sinkLine = /^SMTP ([\d.]+):(\d+) HTTP (\S+)$/.exec(sinkTool.line)
  expect(idpLine && sinkLine).toBeTruthy()
  const [, issuer, clientId, clientSecret] = idpLine!
  const sinkHTTP = `http://${sinkLine![3]}`
  const tag = uniqueTag('plant')
  const slug = `unverified-${tag}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40).replace(/-+$/, '')
  const victim = `${tag}-owner@example.org`
  const password = 'lantern-harbor-6620'
  try {
    await putGroup(adminApi, 'email', { host: sinkLine![1], port: Number(sinkLine![2]), username: '', password: null, senderName: 'Gatehouse', senderAddress: 'noreply@gatehouse.test', tlsMode: 'none' })
    await putGroup(adminApi, 'registration', { emailRegistrationEnabled: true, requireEmailVerification: true, allowedDomains: [] })
    await putGroup(adminApi, 'signin', { usernameEnabled: true, thirdPartyEnabled: true })
    const ep = (await (await adminApi.post('/api/admin/identity-providers/discover', { data: { issuerUrl: issuer } })).json()) as Record<string, string>
    const created = await adminApi.post('/api/admin/identity-providers', {
      data: {
        slug, name: 'Careless ID', type: 'oidc', clientId, clientSecret, issuerUrl: ep.issuerUrl, authorizationUrl: ep.authorizationUrl,
        tokenUrl: ep.tokenUrl, userinfoUrl: ep.userinfoUrl, jwksUrl: ep.jwksUrl, scopes: ['openid', 'email', 'profile'],
        loginEnabled: true, registrationEnabled: true,
      },
    })
    expect(created.status(), await created.text()).toBe(201)

    const attackerCtx = await browser.newContext({ baseURL })
    const attacker = await attackerCtx.newPage()
    const signInWithProvider = async (): Promise<Me> => {
      const res = await fetch(`${new URL(issuer!).origin}/e2e/users`, {
        method: 'POST',
        body: JSON.stringify({ sub: `${tag}-evil`, username: `${tag}-evil`, email: victim, emailVerified: false }),
      })
      expect(res.status).toBe(204)
      await attacker.goto('/login')
      await attacker.getByTestId(`provider-${slug}`).click()
      await expect(attacker).toHaveURL(/\/account\//, { timeout: 30_000 })
      return (await (await attacker.request.get('/api/me')).json()) as Me
    }

    let planted: Me
    await test.step('a provider that did not verify the address registers an account with it', async () => {
      planted = await signInWithProvider()
      expect(planted).toMatchObject({ email: victim, emailVerified: false })
    })

    const ownerCtx = await browser.newContext({ baseURL })
    const owner = await ownerCtx.newPage()
    await test.step('the owner of the mailbox registers with it: not refused, a confirmation link arrives', async () => {
      await owner.goto('/register')
      await owner.getByTestId('register-username').fill(`${tag}-owner`)
      await owner.getByTestId('register-email').fill(victim)
      await owner.getByTestId('register-password').fill(password)
      await owner.getByTestId('register-confirm').fill(password)
      await owner.getByTestId('register-submit').click()
      await expect(owner).toHaveURL(/\/check-email/, { timeout: 30_000 })
      const mail = await waitForMail(sinkHTTP, victim, 'Confirm')
      const link = /(https?:\/\/\S+\/verify-email\?token=\S+)/.exec(mail.text)?.[1]
      expect(link, mail.text).toBeTruthy()
      await owner.goto(new URL(link!).pathname + new URL(link!).search)
      await expect(owner.getByTestId('verify-done')).toBeVisible()
    })

    let ownerMe: Me
    await test.step('the owner signs in and holds the verified address', async () => {
      await owner.goto('/login')
      await owner.getByTestId('login-identifier').fill(`${tag}-owner`)
      await owner.getByTestId('login-password').fill(password)
      await owner.getByTestId('login-submit').click()
      await expect(owner).toHaveURL(/\/account/, { timeout: 30_000 }) // a password hash on a busy machine
      ownerMe = (await (await owner.request.get('/api/me')).json()) as Me
      expect(ownerMe).toMatchObject({ email: victim, emailVerified: true })
    })

    await test.step('the planted account lost the address, audited', async () => {
      const me = (await (await attacker.request.get('/api/me')).json()) as Me
      expect(me.publicId).toBe(planted.publicId)
      expect(me.email).toBeNull()
      const audit = (await (await adminApi.get(`/api/admin/audit?action=account.email_released&target=${planted.publicId}`)).json()) as { items: unknown[] }
      expect(audit.items).toHaveLength(1)
    })

    await test.step("the planted identity signs in again and reaches only its own account", async () => {
      await attacker.request.post('/api/auth/logout')
      const me = await signInWithProvider()
      expect(me.publicId).toBe(planted.publicId)
      expect(me.publicId).not.toBe(ownerMe.publicId)
      expect(me.email).toBeNull()
    })
    await attackerCtx.close()
    await ownerCtx.close()
  } finally {
    await putGroup(adminApi, 'registration', { emailRegistrationEnabled: false, requireEmailVerification: false, allowedDomains: [] })
    idpTool.proc.kill('SIGTERM')
    sinkTool.proc.kill('SIGTERM')
  }
})
