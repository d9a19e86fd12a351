import type { Page } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

// The router starts a page's calls alongside its code (stores/prefetch.ts);
// the page must take those answers instead of asking a second time.

function countCalls(page: Page, path: string): string[] {
  const seen: string[] = []
  page.on('request', (req) => {
    const url = new URL(req.url())
    if (url.pathname === path) seen.push(url.search)
  })
  return seen
}

test('the sign-in page asks for its options once', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ baseURL })
  const page = await context.newPage()
  const options = countCalls(page, '/api/auth/options')
  const me = countCalls(page, '/api/me')
  await page.goto('/login')
  await expect(page.getByTestId('login-submit')).toBeEnabled()
  await page.getByTestId('login-identifier').fill('someone')
  expect(options).toHaveLength(1)
  expect(me).toHaveLength(1)
  await context.close()
})

test('who is signed in is asked before the console script has even run', async ({ browser, baseURL }) => {
  // public/early.js starts GET /api/me and the setup status while the
  // browser still fetches and compiles the console (issue 15, time to
  // interactive); the console then takes those answers.
  const context = await browser.newContext({ baseURL })
  const page = await context.newPage()
  let release = (): void => undefined
  const held = new Promise<void>((resolve) => (release = resolve))
  await page.route(/\/assets\/index-[^/]+\.js$/, async (route) => {
    await held
    await route.continue()
  })
  const me = countCalls(page, '/api/me')
  const setup = countCalls(page, '/api/setup/status')
  const asked = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/me', { timeout: 10_000 })
  await page.goto('/login', { waitUntil: 'commit' })
  await asked // while the entry script is still held back
  await expect.poll(() => setup.length).toBe(1)
  release()
  await expect(page.getByTestId('login-submit')).toBeEnabled({ timeout: 30_000 })
  await page.getByTestId('login-identifier').fill('someone')
  expect(me).toHaveLength(1)
  expect(setup).toHaveLength(1)
  await context.close()
})

test("the Accounts screen's code is asked for before the console script has run", async ({ adminPage: page }) => {
  // route-preload.js (frontend/build/routePreload.ts) asks for the opened
  // page's chunks while the entry is still on its way; before it, the
  // router asked for them only once the entry had run (issue 15, time to
  // interactive).
  let release = (): void => undefined
  const held = new Promise<void>((resolve) => (release = resolve))
  await page.route(/\/assets\/index-[^/]+\.js$/, async (route) => {
    await held
    await route.continue()
  })
  const page_ = page.waitForRequest((r) => /\/assets\/UsersListPage-[^/]+\.js$/.test(new URL(r.url()).pathname), { timeout: 10_000 })
  const layout = page.waitForRequest((r) => /\/assets\/AdminLayout-[^/]+\.js$/.test(new URL(r.url()).pathname), { timeout: 10_000 })
  // The admin area's shared code and styles are one chunk of their own
  // (frontend/build/chunkGroups.ts), the Accounts screen's styles among them.
  const shared = page.waitForRequest((r) => /\/assets\/admin-[^/]+\.js$/.test(new URL(r.url()).pathname), { timeout: 10_000 })
  const style = page.waitForRequest((r) => /\/assets\/admin-[^/]+\.css$/.test(new URL(r.url()).pathname), { timeout: 10_000 })
  await page.goto('/admin/users', { waitUntil: 'commit' })
  await Promise.all([page_, layout, shared, style]) // while the entry script is still held back
  release()
  await expect(page.getByTestId('user-row').first()).toBeVisible({ timeout: 30_000 })
})

test('the Accounts screen asks for each page of the list once', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('ld')
  for (const n of [1, 2, 3]) await createUser(adminApi, { username: `${tag}-${n}`, displayName: `Load ${tag} ${n}` })
  const lists = countCalls(page, '/api/admin/users')
  await page.goto(`/admin/users?q=${tag}&sort=display_name&perPage=10`)
  await expect(page.getByTestId('user-row')).toHaveCount(3)
  await expect(page.getByTestId('user-row').first()).toHaveAttribute('data-username', `${tag}-1`)
  expect(lists).toHaveLength(1)
  expect(lists[0]).toContain(`q=${tag}`)
  expect(lists[0]).toContain('sort=display_name')

  // A change of sort is a navigation too: one more call, with the new order.
  await page.getByTestId('users-sort-direction').click()
  await expect(page.getByTestId('user-row').first()).toHaveAttribute('data-username', `${tag}-3`)
  expect(lists).toHaveLength(2)
  expect(lists[1]).toContain('sort=-display_name')
})

test("the Accounts screen's first page is asked for before the console script has run, and asked once", async ({ adminPage: page }) => {
  // public/early.js asks for the default list as soon as GET /api/me has
  // answered with an administrator (issue 15, time to interactive); before,
  // the list was asked only once the entry had run, the guard had passed
  // and the router had started the page. Seen failing first (no list call
  // while the entry was held back).
  let release = (): void => undefined
  const held = new Promise<void>((resolve) => (release = resolve))
  await page.route(/\/assets\/index-[^/]+\.js$/, async (route) => {
    await held
    await route.continue()
  })
  const lists = countCalls(page, '/api/admin/users')
  const asked = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/admin/users', { timeout: 10_000 })
  await page.goto('/admin/users', { waitUntil: 'commit' })
  await asked // while the entry script is still held back
  release()
  await expect(page.getByTestId('user-row').first()).toBeVisible({ timeout: 30_000 })
  expect(lists).toEqual(['?sort=-id&page=1&perPage=20'])
})

test('early.js asks for no list for a visitor who is signed out or not an administrator', async ({ browser, baseURL, adminApi }) => {
  // Signed out: the sign-in page, no refused list call and no "session ended" message.
  const context = await browser.newContext({ baseURL })
  const page = await context.newPage()
  const lists = countCalls(page, '/api/admin/users')
  await page.goto('/admin/users')
  await expect(page.getByTestId('login-submit')).toBeEnabled()
  await expect(page.getByText('Your session has ended. Please sign in again.')).toHaveCount(0)
  expect(lists).toEqual([])

  // A normal user: the "no access" page, and no list call either.
  const tag = uniqueTag('el')
  await createUser(adminApi, { username: `${tag}-ann`, password: 'meadow-copper-4417' })
  expect((await page.request.post('/api/auth/login', { data: { identifier: `${tag}-ann`, password: 'meadow-copper-4417' } })).status()).toBe(200)
  await page.goto('/admin/users')
  await expect(page.getByRole('heading', { name: 'No access' })).toBeVisible()
  expect(lists).toEqual([])
  await context.close()
})
