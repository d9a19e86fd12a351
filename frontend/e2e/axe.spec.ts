import AxeBuilder from '@axe-core/playwright'
import type { Browser, Page } from '@playwright/test'
import { createUser, expect, root, test, uniqueTag, type User } from './admin-fixtures'

// axe-core on every console screen and its main dialogs, in English and
// Chinese, light and dark, at 1280×800 and 390×844: zero serious or critical
// WCAG 2.2 A/AA violations. One browser context (one page) per combination,
// on the spec's own server; each screen is checked once it has rendered.
// The violations of a whole combination are collected and reported together
// so that one run shows everything that is wrong.

const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']

type Combination = { locale: 'en' | 'zh-CN'; theme: 'light' | 'dark'; size: 'desktop' | 'phone' }
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } }
const combinations: Combination[] = []
for (const size of ['desktop', 'phone'] as const)
  for (const locale of ['en', 'zh-CN'] as const)
    for (const theme of ['light', 'dark'] as const) combinations.push({ locale, theme, size })

test.use({ trace: 'off' })

let target: User

test.beforeAll(async ({ adminApi }) => {
  target = await createUser(adminApi, { username: uniqueTag('axe'), email: `${uniqueTag('axe')}@example.com` })
  // A plan (for the billing list) and a provider (for the providers list).
  await adminApi.post('/api/admin/plans', { data: { name: 'Monthly', periodDays: 30, price: 900, currency: 'USD' } })
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
  // Let transitions and late renders settle (animations are reduced).
  await page.waitForTimeout(100)
  // Only violations are collected (serializing every passing node costs
  // more than the checks); legacy mode runs in the page, without the extra
  // blank page that the cross-frame mode opens for every analysis.
  let builder = new AxeBuilder({ page }).withTags(tags).options({ resultTypes: ['violations'] }).setLegacyMode()
  if (include) builder = builder.include(include)
  const started = Date.now()
  const result = await builder.analyze()
  if (process.env.AXE_TIMES) console.log(`axe ${where}: ${Date.now() - started} ms`)
  for (const v of result.violations) {
    if (v.impact !== 'serious' && v.impact !== 'critical') continue
    if (process.env.AXE_TIMES) console.log(`${where}: ${v.id} ${v.impact} ${v.help}\n  ${v.nodes.slice(0, 6).map((n) => n.target.join(' ') + ' :: ' + n.html.slice(0, 160) + ' :: ' + (n.failureSummary ?? '').replace(/\n/g, ' ').slice(0, 200)).join('\n  ')}`)
    found.push({
      where,
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.split('\n').slice(1, 2).join('')}` : ''}`),
    })
  }
}

async function closeDialog(page: Page): Promise<void> {
  await page.keyboard.press('Escape')
  await expect(page.getByRole('dialog')).toHaveCount(0)
}

for (const c of combinations) {
  test(`axe: no serious or critical violations (${c.locale}, ${c.theme}, ${c.size})`, async ({ browser, baseURL }) => {
    test.setTimeout(Number(process.env.AXE_TIMEOUT_MS ?? 180_000))
    const found: Found[] = []
    const context = await openContext(browser, baseURL!, c)
    const page = await context.newPage()
    try {
      // Public pages, signed out.
      for (const path of ['/login', '/forgot-password', '/reset-password?token=x', '/setup', '/no-such-page']) {
        await page.goto(path)
        await expect(page.getByRole('main')).toBeVisible()
        await check(page, path, found)
      }

      const res = await page.request.post('/api/auth/login', { data: { identifier: root.username, password: root.password } })
      expect(res.status()).toBe(200)

      await page.goto('/admin/users')
      await expect(page.getByTestId('user-row').first()).toBeVisible()
      await check(page, '/admin/users', found)

      await page.getByTestId('users-create').click()
      await expect(page.getByRole('dialog')).toBeVisible()
      await check(page, 'create account dialog', found, '[role="dialog"]')
      await closeDialog(page)

      await page.goto(`/admin/users?q=${target.username}`)
      await expect(page.getByTestId('user-row')).toHaveCount(1)
      await page.getByTestId('user-row').getByRole('checkbox').click()
      await page.getByTestId('bulk-set_status').click()
      await expect(page.getByRole('dialog')).toBeVisible()
      await check(page, 'bulk dialog', found, '[role="dialog"]')
      await closeDialog(page)

      await page.goto(`/admin/users/${target.publicId}`)
      await expect(page.getByTestId('user-title')).toBeVisible()
      await check(page, '/admin/users/:id', found)
      await page.getByTestId('user-reset-password').click()
      await expect(page.getByRole('dialog')).toBeVisible()
      await check(page, 'reset password dialog', found, '[role="dialog"]')
      await closeDialog(page)

      await page.goto('/admin/billing')
      await expect(page.getByTestId('plan-create')).toBeVisible()
      await check(page, '/admin/billing', found)
      await page.getByTestId('plan-create').click()
      await expect(page.getByRole('dialog')).toBeVisible()
      await check(page, 'plan dialog', found, '[role="dialog"]')
      await closeDialog(page)

      await page.goto('/admin/audit')
      await expect(page.getByTestId('audit-row').first()).toBeVisible()
      await check(page, '/admin/audit', found)
      await page.getByTestId('audit-row').first().click()
      await expect(page.getByTestId('audit-drawer')).toBeVisible()
      await check(page, 'audit drawer', found, '[role="dialog"]')
      await closeDialog(page)

      await page.goto('/admin/integrations')
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
      await check(page, '/admin/integrations', found)

      for (const tab of ['signin', 'registration', 'email', 'human-verification', 'providers', 'security', 'password-policy']) {
        await page.goto(`/admin/auth/${tab}`)
        await expect(page.getByTestId('auth-settings')).toBeVisible()
        await page.waitForLoadState('networkidle')
        await check(page, `/admin/auth/${tab}`, found)
        if (tab === 'providers') {
          await page.getByTestId('provider-add').click()
          await expect(page.getByRole('dialog')).toBeVisible()
          await check(page, 'provider editor', found, '[role="dialog"]')
          await closeDialog(page)
        }
      }

      for (const path of ['/account/profile', '/account/security', '/account/providers']) {
        await page.goto(path)
        await expect(page.getByRole('main')).toBeVisible()
        await page.waitForLoadState('networkidle')
        await check(page, path, found)
      }
    } finally {
      await context.close()
    }
    const report = found.map((f) => `${f.where}: [${f.impact}] ${f.id} — ${f.help}\n    ${f.targets.join('\n    ')}`).join('\n')
    expect(found.length, `serious/critical axe violations:\n${report}`).toBe(0)
  })
}
