import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { APIRequestContext, Browser, Page } from '@playwright/test'
import { createUser, expect, root, test, uniqueTag, type User } from './admin-fixtures'
import { settled, trackRequests, visit } from './nav'

// axe-core on every console screen and its main dialogs, in English and
// Chinese, light and dark, at 1280×800 and 390×844: zero serious or critical
// WCAG 2.2 A/AA violations. One browser context (one page) per combination,
// on the worker's own server; each screen is checked once it has rendered.
// The violations of a whole combination are collected and reported together
// so that one run shows everything that is wrong.
//
// Adding a screen: add an entry to `publicScreens`, `consoleScreens` or
// `billingScreens` below (a path, what shows that it has rendered, and any
// dialogs opened from it). Nothing else needs to change.
//
// Billing modes: the account editor shows other things in the period mode
// (plan, expiry and the "no end date" warning) and the usage mode (balance,
// ledger and the balance dialog). `billingScreens` switch the mode through
// the API first and reach the editor through the Billing page, which
// refreshes the console's copy of the mode (no reload); the mode is set back
// to self at the end of each combination.
//
// Cost: the axe source (half a megabyte) is injected once per page load and
// screens are reached by the console's own router (no reload), so a check
// costs only axe's analysis. The combinations run in parallel when
// Playwright has more than one worker. (Signing in through the form
// instead of the API saves the second page load but no measurable CPU:
// 30.4 s against 30.0 s for one combination, BENCHMARKS.md, session 11.)

const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']
// axe-core as @axe-core/playwright ships it (the same version its builder injects).
const axeSource = readFileSync(
  createRequire(createRequire(import.meta.url).resolve('@axe-core/playwright')).resolve('axe-core/axe.min.js'),
  'utf8',
)

interface Dialog {
  name: string
  /** Opens the dialog (or drawer); it is checked, then closed with Escape. */
  open: (page: Page) => Promise<unknown>
}

interface Screen {
  /** Runs before the screen is visited (e.g. a billing mode). */
  setup?: (page: Page) => Promise<unknown>
  /** Where to go (a function when it depends on the test's data). */
  path: string | (() => string)
  /** Resolves once the screen shows what axe should check. */
  ready: (page: Page) => Promise<unknown>
  dialogs?: Dialog[]
  /** The name in the report; the path when not given. */
  name?: string
}

let target: User
/** An account with a plan and no end date (the period mode's warning). */
let subscriber: User
/** The worker's super administrator API (billing mode switches). */
let api: APIRequestContext
/** The consent page of an open authorization request of the super administrator. */
let consentPath = '/consent'

const main = (page: Page) => expect(page.getByRole('main')).toBeVisible()
const heading = (page: Page) => expect(page.getByRole('heading', { level: 1 })).toBeVisible()
const dialogShown = (page: Page) => expect(page.getByRole('dialog')).toBeVisible()

/** Signed out. */
const publicScreens: Screen[] = [
  { path: '/login', ready: main },
  { path: '/forgot-password', ready: main },
  { path: '/reset-password?token=x', ready: main },
  { path: '/setup', ready: main },
  { path: '/no-such-page', ready: main },
]

/** Signed in as the super administrator. */
const consoleScreens: Screen[] = [
  {
    path: '/admin/users',
    ready: (page) => expect(page.getByTestId('user-row').first()).toBeVisible(),
    dialogs: [
      {
        name: 'create account dialog',
        open: async (page) => {
          await page.getByTestId('users-create').click()
          await dialogShown(page)
        },
      },
    ],
  },
  {
    name: '/admin/users (one selected)',
    path: () => `/admin/users?q=${target.username}`,
    ready: (page) => expect(page.getByTestId('user-row')).toHaveCount(1),
    dialogs: [
      {
        name: 'bulk dialog',
        open: async (page) => {
          await page.getByTestId('user-row').getByRole('checkbox').click()
          await page.getByTestId('bulk-set_status').click()
          await dialogShown(page)
        },
      },
    ],
  },
  {
    name: '/admin/users/:id',
    path: () => `/admin/users/${target.publicId}`,
    ready: (page) => expect(page.getByTestId('user-title')).toBeVisible(),
    dialogs: [
      {
        name: 'reset password dialog',
        open: async (page) => {
          await page.getByTestId('user-reset-password').click()
          await dialogShown(page)
        },
      },
    ],
  },
  {
    path: '/admin/billing',
    ready: (page) => expect(page.getByTestId('plan-create')).toBeVisible(),
    dialogs: [
      {
        name: 'plan dialog',
        open: async (page) => {
          await page.getByTestId('plan-create').click()
          await dialogShown(page)
        },
      },
    ],
  },
  {
    path: '/admin/audit',
    ready: (page) => expect(page.getByTestId('audit-row').first()).toBeVisible(),
    dialogs: [
      {
        name: 'audit drawer',
        open: async (page) => {
          await page.getByTestId('audit-row').first().click()
          await expect(page.getByTestId('audit-drawer')).toBeVisible()
        },
      },
    ],
  },
  { path: '/admin/integrations', ready: heading },
  {
    path: '/admin/applications?tab=oidc',
    ready: (page) => expect(page.getByTestId('oidc-app-row').first()).toBeVisible(),
    dialogs: [
      {
        name: 'OpenID application dialog',
        open: async (page) => {
          await page.getByTestId('oidc-app-create').click()
          await dialogShown(page)
        },
      },
      {
        name: 'OpenID application new secret dialog',
        open: async (page) => {
          await page.getByTestId('oidc-app-rotate').first().click()
          await dialogShown(page)
        },
      },
      {
        name: 'OpenID application secret shown once',
        open: async (page) => {
          await page.getByTestId('oidc-app-rotate').first().click()
          await page.getByTestId('oidc-app-confirm-rotate-confirm').click()
          await expect(page.getByTestId('oidc-secret-dialog')).toBeVisible()
        },
      },
    ],
  },
  { name: '/consent', path: () => consentPath, ready: (page) => expect(page.getByTestId('consent')).toBeVisible() },
  {
    path: '/admin/applications?tab=protected',
    ready: (page) => expect(page.getByTestId('protected-app-create')).toBeVisible(),
    dialogs: [
      {
        name: 'protected app dialog',
        open: async (page) => {
          await page.getByTestId('protected-app-create').click()
          await dialogShown(page)
        },
      },
    ],
  },
  { path: '/admin/api-keys', ready: heading },
  {
    path: '/admin/webhooks',
    ready: (page) => expect(page.getByTestId('webhooks-table')).toBeVisible(),
    dialogs: [
      {
        name: 'webhook endpoint dialog',
        open: async (page) => {
          await page.getByTestId('webhook-add').click()
          await dialogShown(page)
        },
      },
    ],
  },
  ...['signin', 'registration', 'email', 'human-verification', 'security', 'password-policy'].map(
    (tab): Screen => ({ path: `/admin/auth/${tab}`, ready: (page) => expect(page.getByTestId('auth-settings')).toBeVisible() }),
  ),
  {
    path: '/admin/auth/providers',
    ready: (page) => expect(page.getByTestId('auth-settings')).toBeVisible(),
    dialogs: [
      {
        name: 'provider editor',
        open: async (page) => {
          await page.getByTestId('provider-add').click()
          await dialogShown(page)
        },
      },
    ],
  },
  { path: '/account/profile', ready: main },
  { path: '/account/security', ready: main },
  { path: '/account/providers', ready: main },
  { path: '/no-access', ready: main },
]

type BillingMode = 'self' | 'period' | 'usage'

async function setBillingMode(client: APIRequestContext, mode: BillingMode): Promise<void> {
  const current = (await (await client.get('/api/admin/settings/billing')).json()) as { version: number }
  const res = await client.put('/api/admin/settings/billing', { data: { mode, currency: 'USD', version: current.version } })
  expect(res.status(), await res.text()).toBe(200)
}

/** Sets the mode, then opens the Billing page: it refreshes the console's copy of the mode. */
async function billingMode(page: Page, mode: BillingMode): Promise<void> {
  await setBillingMode(api, mode)
  await visit(page, '/admin/billing')
  await expect(page.getByTestId(`billing-mode-${mode}`).getByRole('radio')).toBeChecked()
}

/** The account editor in the period and usage billing modes (after consoleScreens, same sign-in). */
const billingScreens: Screen[] = [
  {
    name: '/admin/users/:id (period mode, no end date)',
    setup: (page) => billingMode(page, 'period'),
    path: () => `/admin/users/${subscriber.publicId}`,
    ready: (page) => expect(page.getByTestId('user-expires-never')).toBeVisible(),
  },
  {
    name: '/admin/users/:id (usage mode)',
    setup: (page) => billingMode(page, 'usage'),
    path: () => `/admin/users/${target.publicId}`,
    ready: (page) => expect(page.getByTestId('user-balance')).toBeVisible(),
    dialogs: [
      {
        name: 'balance dialog',
        open: async (page) => {
          await page.getByTestId('user-balance-change').click()
          await dialogShown(page)
        },
      },
    ],
  },
]

type Combination = { locale: 'en' | 'zh-CN'; theme: 'light' | 'dark'; size: 'desktop' | 'phone' }
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } }
const combinations: Combination[] = []
for (const size of ['desktop', 'phone'] as const)
  for (const locale of ['en', 'zh-CN'] as const)
    for (const theme of ['light', 'dark'] as const) combinations.push({ locale, theme, size })

test.use({ trace: 'off' })
// The combinations are independent: with two workers, each runs half of
// them against its own server.
test.describe.configure({ mode: 'parallel' })

test.beforeAll(async ({ adminApi }) => {
  target = await createUser(adminApi, { username: uniqueTag('axe'), email: `${uniqueTag('axe')}@example.com` })
  // A plan (for the billing list), held with no end date by subscriber.
  const plan = await adminApi.post('/api/admin/plans', { data: { name: 'Monthly', periodDays: 30, priceMinor: 900 } })
  expect(plan.status(), await plan.text()).toBe(201)
  const planBody = (await plan.json()) as { id?: number; plan?: { id: number } }
  subscriber = await createUser(adminApi, { username: uniqueTag('axesub'), email: `${uniqueTag('axesub')}@example.com` })
  await setBillingMode(adminApi, 'period')
  const held = await adminApi.patch(`/api/admin/users/${subscriber.publicId}`, { data: { planId: planBody.plan?.id ?? planBody.id, subscriptionExpiresAt: null } })
  expect(held.status(), await held.text()).toBe(200)
  await setBillingMode(adminApi, 'self')
  // A third-party OpenID application: the super administrator allowed it
  // once (a grant on the Security page) and is asked again (prompt=consent:
  // the consent page).
  const created = await adminApi.post('/api/admin/applications', { data: { name: 'Partner', redirectUris: ['https://rp.example.com/cb'] } })
  expect(created.status(), await created.text()).toBe(201)
  const clientId = ((await created.json()) as { application: { clientId: string } }).application.clientId
  const ask = async (prompt: string): Promise<string> => {
    const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: 'https://rp.example.com/cb', scope: 'openid profile email', state: 's', nonce: 'n', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...(prompt ? { prompt } : {}) })
    let res = await adminApi.get(`/oauth/authorize?${q}`, { maxRedirects: 0 })
    for (let i = 0; i < 4 && res.status() === 302; i++) {
      const to = new URL(res.headers()['location']!, 'http://x')
      const loc = to.pathname + to.search
      if (to.pathname === '/consent') return loc
      res = await adminApi.get(loc, { maxRedirects: 0 })
    }
    throw new Error(`no consent page: HTTP ${res.status()} ${res.headers()['location'] ?? ''}`)
  }
  const first = new URL(await ask(''), 'http://x').searchParams.get('request')!
  const ok = await adminApi.post(`/api/oauth/consent/${first}`, { data: { approve: true } })
  expect(ok.status(), await ok.text()).toBe(200)
  consentPath = await ask('consent')
})

async function openContext(browser: Browser, baseURL: string, c: Combination) {
  const context = await browser.newContext({
    baseURL,
    viewport: sizes[c.size],
    colorScheme: c.theme,
    locale: c.locale === 'en' ? 'en-US' : 'zh-CN',
    reducedMotion: 'reduce',
  })
  await context.addInitScript(
    ([locale, theme]) => {
      localStorage.setItem('gatehouse.locale', locale as string)
      localStorage.setItem('gatehouse.theme', theme as string)
    },
    [c.locale, c.theme],
  )
  return context
}

interface Found {
  where: string
  id: string
  impact: string
  help: string
  targets: string[]
}

async function check(page: Page, where: string, found: Found[], include?: string): Promise<void> {
  await settled(page)
  // Late renders and colour transitions have settled (axe would measure a
  // colour halfway through its transition).
  await page.waitForFunction(
    () => document.getAnimations().every((a) => !(a instanceof CSSTransition) || a.playState !== 'running'),
    null,
    { polling: 'raf' },
  )
  // axe is injected once per page load (a screen that reloads gets it again).
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource)
  const started = Date.now()
  const violations = await page.evaluate(
    async ([context, runOnly]) => {
      const axe = (window as unknown as { axe: { run: (c: unknown, o: unknown) => Promise<{ violations: { id: string; impact?: string; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[] }> } }).axe
      const result = await axe.run(context ?? document, { runOnly: { type: 'tag', values: runOnly }, resultTypes: ['violations'] })
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, impact: v.impact!, help: v.help, targets: v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.split('\n').slice(1, 2).join('')}` : ''}`) }))
    },
    [include ?? null, tags] as const,
  )
  if (process.env.AXE_TIMES) console.log(`axe ${where}: ${Date.now() - started} ms`)
  for (const v of violations) found.push({ where, ...v })
}

async function closeDialog(page: Page): Promise<void> {
  await page.keyboard.press('Escape')
  await expect(page.getByRole('dialog')).toHaveCount(0)
}

async function checkScreens(page: Page, screens: Screen[], found: Found[]): Promise<void> {
  for (const s of screens) {
    await s.setup?.(page)
    const path = typeof s.path === 'function' ? s.path() : s.path
    const name = s.name ?? path
    await visit(page, path)
    await s.ready(page)
    await check(page, name, found)
    for (const d of s.dialogs ?? []) {
      await d.open(page)
      await check(page, d.name, found, '[role="dialog"]')
      await closeDialog(page)
    }
  }
}

for (const c of combinations) {
  test(`axe: no serious or critical violations (${c.locale}, ${c.theme}, ${c.size})`, async ({ browser, baseURL, adminApi }) => {
    test.setTimeout(Number(process.env.AXE_TIMEOUT_MS ?? 180_000))
    const found: Found[] = []
    api = adminApi
    const context = await openContext(browser, baseURL!, c)
    const page = await context.newPage()
    trackRequests(page)
    try {
      await page.goto('/login')
      await checkScreens(page, publicScreens, found)

      const res = await page.request.post('/api/auth/login', { data: { identifier: root.username, password: root.password } })
      expect(res.status()).toBe(200)
      // A full load: the console reads the new session.
      await page.goto('/admin/users')
      await checkScreens(page, consoleScreens, found)
      await checkScreens(page, billingScreens, found)
    } finally {
      await context.close()
      await setBillingMode(adminApi, 'self')
    }
    const report = found.map((f) => `${f.where}: [${f.impact}] ${f.id} — ${f.help}\n    ${f.targets.join('\n    ')}`).join('\n')
    expect(found.length, `serious/critical axe violations:\n${report}`).toBe(0)
  })
}
