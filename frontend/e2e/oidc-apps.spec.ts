// Issue 16, the OpenID Provider end to end in the browser: the super
// administrator registers a third-party application in the console (the
// client secret is shown once); a person signs in to a tiny relying party
// written here (Node http + fetch: authorization code + PKCE S256 against
// the real binary, the ID token's ES256 signature, iss, aud, sub and nonce
// checked), sees the consent screen and allows; the relying party shows
// who she is. She revokes the grant on her account's Security page and the
// relying party's refresh token is refused; signing in again asks again
// and Deny brings access_denied back to the relying party. A first-party
// application skips the consent screen.
import { createHash, createPublicKey, randomBytes, verify, type JsonWebKey } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

const b64url = (b: Buffer) => b.toString('base64url')
// After a full page load (a chunk to fetch and an API call), on a busy runner.
const loaded = { timeout: 30_000 }

interface Discovery {
  issuer: string
  authorization_endpoint: string
  token_endpoint: string
  jwks_uri: string
}

interface RelyingParty {
  base: string
  /** The last refresh token it was given. */
  refreshToken: string
  refresh: () => Promise<{ status: number; body: Record<string, unknown> }>
  close: () => Promise<void>
}

/**
 * A relying party on 127.0.0.1: /login starts the code flow (state, nonce,
 * PKCE S256), /callback exchanges the code (client_secret_basic when a
 * secret is given), verifies the ID token and shows the signed-in person.
 */
async function startRelyingParty(issuer: string, clientId: string, secret: string | null, redirectUri: (base: string) => string, server?: Server): Promise<RelyingParty> {
  const disc = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Discovery
  const pending = new Map<string, { nonce: string; verifier: string }>()
  const auth: Record<string, string> = secret ? { Authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}` } : {}
  const tokenCall = async (form: Record<string, string>) => {
    const res = await fetch(disc.token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...auth },
      body: new URLSearchParams(secret ? form : { ...form, client_id: clientId }),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const rp: RelyingParty = { base: '', refreshToken: '', refresh: () => tokenCall({ grant_type: 'refresh_token', refresh_token: rp.refreshToken }), close: async () => {} }

  async function verifyIDToken(jwt: string, nonce: string): Promise<Record<string, unknown>> {
    const [h, p, s] = jwt.split('.') as [string, string, string]
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; kid: string }
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    const { keys } = (await (await fetch(disc.jwks_uri)).json()) as { keys: (JsonWebKey & { kid: string })[] }
    const jwk = keys.find((k) => k.kid === header.kid)
    if (header.alg !== 'ES256' || !jwk) throw new Error(`unexpected ID token header ${JSON.stringify(header)}`)
    const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))
    if (!ok) throw new Error('bad ID token signature')
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    if (claims.iss !== disc.issuer || !aud.includes(clientId) || claims.nonce !== nonce || (claims.exp as number) * 1000 < Date.now()) {
      throw new Error(`bad ID token claims ${JSON.stringify(claims)}`)
    }
    return claims
  }

  const srv = server ?? createServer()
  srv.on('request', (req, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', rp.base)
        const page = (status: number, text: string) => {
          res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' })
          res.end(`<!doctype html><html lang="en"><title>RP</title><main><h1>${text.replace(/</g, '&lt;')}</h1></main></html>`)
        }
        if (url.pathname === '/login') {
          const state = b64url(randomBytes(12))
          const nonce = b64url(randomBytes(12))
          const verifier = b64url(randomBytes(32))
          pending.set(state, { nonce, verifier })
          const q = new URLSearchParams({
            response_type: 'code',
            client_id: clientId,
            redirect_uri: redirectUri(rp.base),
            scope: 'openid profile email offline_access',
            state,
            nonce,
            code_challenge: b64url(createHash('sha256').update(verifier).digest()),
            code_challenge_method: 'S256',
          })
          res.writeHead(302, { Location: `${disc.authorization_endpoint}?${q}` })
          res.end()
          return
        }
        if (url.pathname === '/callback') {
          const st = pending.get(url.searchParams.get('state') ?? '')
          if (!st) return page(400, 'Unknown state')
          pending.delete(url.searchParams.get('state')!)
          const error = url.searchParams.get('error')
          if (error) return page(200, `Refused: ${error}`)
          const tok = await tokenCall({ grant_type: 'authorization_code', code: url.searchParams.get('code') ?? '', redirect_uri: redirectUri(rp.base), code_verifier: st.verifier })
          if (tok.status !== 200) return page(502, `Token error ${JSON.stringify(tok.body)}`)
          const claims = await verifyIDToken(tok.body.id_token as string, st.nonce)
          rp.refreshToken = (tok.body.refresh_token as string) ?? ''
          return page(200, `Signed in as ${claims.preferred_username} (${claims.sub})`)
        }
        page(404, 'Not found')
      })().catch((err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' })
        res.end(String(err))
      })
    })
  if (!srv.listening) await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok))
  rp.base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
  rp.close = () => new Promise((ok) => srv.close(() => ok()))
  return rp
}

/** A port for the relying party, known before the application is registered. */
function listenLater(): Promise<{ server: Server; base: string }> {
  const server = createServer()
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })))
}

test('OpenID applications: register in the console, consent, revoke, first-party without consent', async ({ adminPage: page, adminApi, browser, baseURL }) => {
  test.setTimeout(240_000)
  const issuer = baseURL!
  const tag = uniqueTag('o')
  const person = await createUser(adminApi, { username: `ann${tag}`, displayName: 'Ann Example', email: `ann${tag}@example.com` })

  // Third-party application registered in the console; the secret is shown once.
  const partner = await listenLater()
  const callback = `${partner.base}/callback`
  await page.goto('/admin/applications')
  await expect(page.getByRole('heading', { name: 'OpenID applications' })).toBeVisible(loaded)
  await page.getByRole('button', { name: 'Add OpenID application' }).click()
  const dialog = page.getByRole('dialog')
  await dialog.getByRole('textbox', { name: /^Name/ }).fill(`Partner ${tag}`)
  await dialog.getByLabel('Logo URL').fill('data:image/svg+xml;base64,' + Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#0a6"/></svg>').toString('base64'))
  await dialog.getByRole('textbox', { name: /^Redirect URIs/ }).fill(callback)
  await expect(dialog.getByRole('radio', { name: /Third-party/ })).toBeChecked()
  await expect(dialog.getByRole('radio', { name: /Confidential/ })).toBeChecked()
  await dialog.getByRole('button', { name: 'Save' }).click()
  const shown = page.getByRole('dialog', { name: `Client secret of Partner ${tag}` })
  await expect(shown).toBeVisible(loaded)
  const clientId = await shown.getByLabel('Client ID').inputValue()
  const secret = await shown.getByLabel('Client secret').inputValue()
  expect(secret).toMatch(/^ghs_/)
  // Copy puts the secret itself on the clipboard (read back through the
  // page, with the permissions Chromium asks for) and says so.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: issuer })
  await page.evaluate(() => navigator.clipboard.writeText('not the secret'))
  await shown.getByRole('button', { name: 'Copy secret' }).click()
  await expect(page.getByText('Copied.')).toBeVisible()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret)
  await shown.getByRole('button', { name: 'Done' }).click()
  await expect(shown).toBeHidden()
  const row = page.getByTestId('oidc-app-row').filter({ hasText: `Partner ${tag}` })
  await expect(row).toContainText(clientId)
  await expect(row).toContainText('Third-party')
  // Never shown again.
  await expect(page.getByText(secret)).toHaveCount(0)

  const rp = await startRelyingParty(issuer, clientId, secret, (b) => `${b}/callback`, partner.server)
  const ctx = await browser.newContext({ baseURL: issuer })
  const user = await ctx.newPage()
  try {
    // Sign in to the relying party through Gatehouse: the consent screen.
    await user.goto(`${rp.base}/login`)
    await user.getByTestId('login-identifier').fill(person.username)
    await user.getByTestId('login-password').fill('meadow-copper-4417')
    await user.getByTestId('login-submit').click()
    await expect(user.getByRole('heading', { name: `Allow Partner ${tag}?` })).toBeVisible(loaded)
    await expect(user.getByText('See your email address and whether it is confirmed')).toBeVisible()
    await expect(user.getByText('Stay signed in when you are not using it')).toBeVisible()
    await expect(user.getByText(`You will be sent back to ${new URL(rp.base).host}.`)).toBeVisible()
    await user.getByRole('button', { name: 'Allow' }).click()
    await expect(user.getByRole('heading', { name: `Signed in as ${person.username} (${person.publicId})` })).toBeVisible(loaded)
    expect(rp.refreshToken).not.toBe('')
    const first = await rp.refresh()
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    rp.refreshToken = first.body.refresh_token as string

    // Remembered: the next sign-in goes straight through.
    await user.goto(`${rp.base}/login`)
    await expect(user.getByRole('heading', { name: /^Signed in as / })).toBeVisible(loaded)

    // Revoked on the account page: the relying party's refresh token is refused.
    await user.goto('/account/security')
    const grants = user.getByTestId('app-grants')
    const grant = grants.getByRole('row').filter({ hasText: `Partner ${tag}` })
    await expect(grant).toContainText('See your email address', loaded)
    await grant.getByRole('button', { name: `Revoke Partner ${tag}` }).click()
    await user.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click()
    await expect(grants.getByText('You have not allowed any application.')).toBeVisible()
    const refused = await rp.refresh()
    expect(refused.status).toBe(400)
    expect(refused.body.error).toBe('invalid_grant')

    // Asked again; Deny brings access_denied back to the relying party.
    await user.goto(`${rp.base}/login`)
    await expect(user.getByRole('button', { name: 'Deny' })).toBeVisible(loaded)
    await user.getByRole('button', { name: 'Deny' }).click()
    await expect(user.getByRole('heading', { name: 'Refused: access_denied' })).toBeVisible(loaded)

    // A first-party application (registered through the API) skips consent.
    const own = await listenLater()
    const res = await adminApi.post('/api/admin/applications', {
      data: { name: `Intranet ${tag}`, clientType: 'public', firstParty: true, redirectUris: [`${own.base}/callback`] },
    })
    expect(res.status(), await res.text()).toBe(201)
    const intranet = (await res.json()) as { application: { clientId: string } }
    const rp2 = await startRelyingParty(issuer, intranet.application.clientId, null, (b) => `${b}/callback`, own.server)
    try {
      await user.goto(`${rp2.base}/login`)
      await expect(user.getByRole('heading', { name: `Signed in as ${person.username} (${person.publicId})` })).toBeVisible(loaded)
    } finally {
      await rp2.close()
    }
  } finally {
    await ctx.close()
    await rp.close()
  }
})

test('an administrator reads the applications without controls that change them', async ({ adminApi, browser, baseURL }) => {
  const tag = uniqueTag('ra')
  const oidc = await adminApi.post('/api/admin/applications', { data: { name: `Reader ${tag}`, firstParty: true, redirectUris: ['https://rp.example.com/cb'] } })
  expect(oidc.status(), await oidc.text()).toBe(201)
  // Without a cookie domain a protected app lives on Gatehouse's host name.
  const host = `${new URL(baseURL!).hostname}:${20000 + Math.floor(Math.random() * 20000)}`
  const guarded = await adminApi.post('/api/admin/protected-apps', { data: { name: `Guarded ${tag}`, hosts: [host], allowedRoles: ['user'] } })
  expect(guarded.status(), await guarded.text()).toBe(201)
  const name = uniqueTag('adm')
  await createUser(adminApi, { username: name, email: `${name}@example.com`, role: 'admin' })
  const ctx = await browser.newContext({ baseURL })
  const page = await ctx.newPage()
  try {
    expect((await page.request.post('/api/auth/login', { data: { identifier: name, password: 'meadow-copper-4417' } })).status()).toBe(200)

    await page.goto('/admin/applications')
    await expect(page.getByTestId('oidc-apps-read-only')).toBeVisible(loaded)
    const row = page.getByTestId('oidc-app-row').filter({ hasText: `Reader ${tag}` })
    await expect(row).toBeVisible()
    await expect(page.getByRole('button', { name: 'Add OpenID application' })).toHaveCount(0)
    await expect(row.getByRole('button')).toHaveCount(0)

    await page.getByText('Protected apps', { exact: true }).click()
    await expect(page.getByTestId('protected-apps-read-only')).toBeVisible(loaded)
    const prow = page.getByTestId('protected-app-row').filter({ hasText: `Guarded ${tag}` })
    await expect(prow).toContainText(host)
    await expect(page.getByTestId('protected-app-create')).toHaveCount(0)
    await expect(prow.getByRole('button')).toHaveCount(0)

    // The API refuses what the screen does not offer.
    const refused = await page.request.post('/api/admin/applications', { data: { name: `Mine ${tag}`, firstParty: true, redirectUris: ['https://rp.example.com/cb'] } })
    expect(refused.status()).toBe(403)
  } finally {
    await ctx.close()
  }
})
