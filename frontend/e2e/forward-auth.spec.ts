// Issue 16, forward auth end to end with Debian's nginx: a tiny app
// (internal/devtools/protectedapp) behind nginx auth_request, configured
// with deploy/forward-auth/nginx.conf (the README's copy) on loopback ports.
// Gatehouse and the apps have host names under gatehouse.test, which the
// browser maps to 127.0.0.1, so that the session cookie is shared through
// --cookie-domain as it would be in production. A person with TOTP signs in
// through Gatehouse's page, reaches the app (which sees who she is),
// is refused by an app for administrators, signs out and is refused again.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { expect, test as base } from './fixtures'
import { startGatehouse, type RunningServer } from './server'

const repo = resolve(import.meta.dirname, '..', '..')
const nginxBin = process.env.GATEHOUSE_NGINX ?? '/usr/sbin/nginx'

const root = { username: 'root', password: 'quarry-lantern-5120', email: 'root@example.com' }
const alice = { username: 'alice', displayName: 'Alice Liddell', email: 'alice@example.com', password: 'copper-meadow-7731', role: 'user' }

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

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.on('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => ok(port))
    })
  })
}

function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((ok) => {
    proc.once('exit', () => ok())
    proc.kill('SIGTERM')
  })
}

/** Calls the API on the listening address (Node does not resolve gatehouse.test). */
async function call(server: RunningServer, cookie: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; cookie: string }> {
  const res = await fetch(server.direct + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(cookie ? { Cookie: cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const set = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  return { status: res.status, json: text ? JSON.parse(text) : null, cookie: set }
}

async function signInApi(server: RunningServer, identifier: string, password: string): Promise<string> {
  const r = await call(server, '', 'POST', '/api/auth/login', { identifier, password })
  expect(r.status, JSON.stringify(r.json)).toBe(200)
  return r.cookie
}

/** GET / on the nginx of url (Node does not resolve gatehouse.test: the Host header names it). */
function viaProxy(url: string, cookie: string): Promise<{ status: number; location: string }> {
  const u = new URL(url)
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port: Number(u.port), path: '/', headers: { Host: u.host, Cookie: cookie } }, (res) => {
      res.resume()
      ok({ status: res.statusCode ?? 0, location: String(res.headers.location ?? '') })
    })
    req.on('error', fail)
    req.end()
  })
}

interface Setup {
  server: RunningServer
  /** The app behind nginx, for everyone, and the one for administrators only. */
  appURL: string
  opsURL: string
  secret: string
}

// The browser resolves every *.gatehouse.test name to loopback.
const test = base.extend<{}, { setup: Setup }>({
  setup: [
    async ({}, use) => {
      if (!existsSync(nginxBin)) throw new Error(`${nginxBin} not found: install Debian's nginx (apt-get install nginx)`)
      const app = join(repo, 'bin', 'protectedapp')
      if (!existsSync(app)) throw new Error(`${app} not found: go build -o bin/protectedapp ./internal/devtools/protectedapp`)
      const server = await startGatehouse('auth.gatehouse.test', {
        GATEHOUSE_COOKIE_DOMAIN: 'gatehouse.test',
        GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1',
      })
      let appProc: ChildProcess | undefined
      let nginx: ChildProcess | undefined
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-nginx-'))
      try {
        // First run, the person with TOTP, and the two protected apps.
        const setupRes = await call(server, '', 'POST', '/api/setup', { token: server.token, ...root })
        expect(setupRes.status, JSON.stringify(setupRes.json)).toBe(201)
        const rootCookie = await signInApi(server, root.username, root.password)
        const security = (await call(server, rootCookie, 'GET', '/api/admin/settings/security')).json as Record<string, unknown>
        expect((await call(server, rootCookie, 'PUT', '/api/admin/settings/security', { ...security, authRateLimitPerMinute: 1000 })).status).toBe(200)
        expect((await call(server, rootCookie, 'POST', '/api/admin/users', alice)).status).toBe(201)
        const aliceCookie = await signInApi(server, alice.username, alice.password)
        const setup2fa = await call(server, aliceCookie, 'POST', '/api/me/2fa/setup', { password: alice.password })
        expect(setup2fa.status).toBe(200)
        const { secret } = setup2fa.json as { secret: string }
        expect((await call(server, aliceCookie, 'POST', '/api/me/2fa/enable', { password: alice.password, code: totp(secret) })).status).toBe(200)
        await call(server, aliceCookie, 'POST', '/api/auth/logout')

        const proxyPort = await freePort()
        const gatehousePort = new URL(server.direct).port
        const apps = [
          { name: 'Team app', hosts: [`app.gatehouse.test:${proxyPort}`], allowedRoles: ['user', 'admin', 'super_admin'] },
          { name: 'Operations', hosts: [`ops.gatehouse.test:${proxyPort}`], allowedRoles: ['admin', 'super_admin'] },
        ]
        for (const a of apps) {
          const r = await call(server, rootCookie, 'POST', '/api/admin/protected-apps', a)
          expect(r.status, JSON.stringify(r.json)).toBe(201)
        }

        // The tiny app, and nginx in front of it with the README's configuration.
        appProc = spawn(app, ['-addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] })
        const line = await new Promise<string>((ok, fail) => {
          const timer = setTimeout(() => fail(new Error('protectedapp did not start')), 10_000)
          createInterface({ input: appProc!.stdout! }).once('line', (l) => {
            clearTimeout(timer)
            ok(l)
          })
        })
        const appAddr = /^HTTP (\S+)$/.exec(line)![1]!
        const site = await readFile(join(repo, 'deploy', 'forward-auth', 'nginx.conf'), 'utf8')
        const readme = await readFile(join(repo, 'README.md'), 'utf8')
        expect(readme.includes(site.trim()), 'README.md shows deploy/forward-auth/nginx.conf as it is').toBe(true)
        const server_ = site
          .replace('listen 443 ssl;', `listen 127.0.0.1:${proxyPort};`)
          .replace('server_name app.example.com;', 'server_name app.gatehouse.test ops.gatehouse.test;')
          .replace('http://127.0.0.1:3000', `http://${appAddr}`)
          .replace('http://127.0.0.1:8080/', `http://127.0.0.1:${gatehousePort}/`)
        for (const sub of ['tmp', 'logs']) await mkdir(join(dir, sub))
        const conf = `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
${server_}
}
`
        await writeFile(join(dir, 'nginx.conf'), conf)
        nginx = spawn(nginxBin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] })
        const deadline = Date.now() + 10_000
        for (;;) {
          try {
            const r = await fetch(`http://127.0.0.1:${proxyPort}/`, { headers: { Host: `app.gatehouse.test:${proxyPort}` }, redirect: 'manual' })
            if (r.status === 302) break
          } catch {
            // not listening yet
          }
          if (Date.now() > deadline) throw new Error(`nginx did not answer: ${await readFile(join(dir, 'logs', 'error.log'), 'utf8').catch(() => '')}`)
          await new Promise((r) => setTimeout(r, 50))
        }
        await use({ server, appURL: `http://app.gatehouse.test:${proxyPort}`, opsURL: `http://ops.gatehouse.test:${proxyPort}`, secret })
      } finally {
        await stop(nginx)
        await stop(appProc)
        await server.stop()
        await rm(dir, { recursive: true, force: true })
      }
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ setup }, use) => {
    await use(setup.server.base)
  },
})

test.use({
  launchOptions: {
    executablePath: process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP *.gatehouse.test 127.0.0.1',
    ],
  },
})

test('nginx auth_request: sign in with 2FA, reach the app, refused by role, signed out refused again', async ({ page, setup }) => {
  test.setTimeout(120_000)
  const { appURL, opsURL, secret } = setup

  await test.step('the app sends an anonymous visitor to Gatehouse’s sign-in page', async () => {
    await page.goto(`${appURL}/reports/2026?q=a&b=c`)
    await expect(page).toHaveURL(/^http:\/\/auth\.gatehouse\.test:\d+\/login\?next=/)
    await expect(page.getByTestId('login-identifier')).toBeVisible()
  })

  await test.step('she signs in with her password and TOTP and lands on the page she asked for', async () => {
    await page.getByTestId('login-identifier').fill(alice.username)
    await page.getByTestId('login-password').fill(alice.password)
    await page.getByTestId('login-submit').click()
    await expect(page.getByTestId('mfa-code')).toBeVisible({ timeout: 30_000 })
    // The enrolment above may have used this time step's code, and a step is
    // accepted once: answer with the next step's code (within the allowed skew).
    await page.getByTestId('mfa-code').fill(totp(secret, Math.floor(Date.now() / 30_000) + 1))
    await page.getByTestId('mfa-submit').click()
    await expect(page).toHaveURL(`${appURL}/reports/2026?q=a&b=c`, { timeout: 30_000 })
    await expect(page.getByRole('heading', { name: 'Protected app' })).toBeVisible()
    await expect(page.getByTestId('username')).toHaveText(alice.username)
    await expect(page.getByTestId('name')).toHaveText(alice.displayName)
    await expect(page.getByTestId('email')).toHaveText(alice.email)
    await expect(page.getByTestId('role')).toHaveText('user')
    await expect(page.getByTestId('user')).toHaveText(/^.{8,}$/)
  })

  await test.step('identity headers a visitor sends herself are replaced or dropped by the proxy', async () => {
    const html = await page.evaluate(async () => {
      const res = await fetch('/', { headers: { 'X-Gatehouse-Role': 'super_admin', 'X-Gatehouse-Username': 'root', 'X-Gatehouse_Role': 'super_admin' } })
      return `${res.status} ${await res.text()}`
    })
    expect(html).toMatch(/^200 /)
    expect(html).toContain('data-testid="role">user<')
    expect(html).toContain(`data-testid="username">${alice.username}<`)
    // The underscored spelling, which CGI, PHP and WSGI apps read as the real header, never arrives.
    expect(html).toContain('data-testid="underscored"><')
  })

  await test.step('the administrators’ app refuses her role', async () => {
    const res = await page.goto(`${opsURL}/`)
    expect(res?.status()).toBe(403)
    await expect(page.getByRole('heading', { name: 'Protected app' })).toHaveCount(0)
  })

  await test.step('she signs out in Gatehouse; the app sends her to sign in again, and the old cookie is refused', async () => {
    const cookie = (await page.context().cookies(appURL)).find((c) => c.name.endsWith('gatehouse_session'))
    expect(cookie?.domain).toMatch(/^\.?gatehouse\.test$/)
    await page.goto('/account/profile')
    await page.getByTestId('user-menu').click()
    await page.getByTestId('menu-sign-out').click()
    await expect(page).toHaveURL(/\/login/)
    await page.goto(`${appURL}/`)
    await expect(page).toHaveURL(/^http:\/\/auth\.gatehouse\.test:\d+\/login\?next=/)
    // The signed-out cookie, replayed to nginx: sent to sign in, not let through.
    const replay = await viaProxy(appURL, `${cookie!.name}=${cookie!.value}`)
    expect(replay.status).toBe(302)
    expect(replay.location).toContain('/api/forward-auth/sign-in?rd=')
  })
})
