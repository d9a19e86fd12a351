import type { Page } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'
import { settled, trackRequests, visit } from './nav'

// The console at 390×844 (a phone): no screen scrolls sideways, the menu is
// a drawer, the accounts list is a list of cards with selection, the
// filters open from a button, and the main flows work. Controls are found
// by role and label, as a screen-reader user would.

test.use({ viewport: { width: 390, height: 844 } })
test.setTimeout(180_000)

async function expectNoSideways(page: Page, where: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement?.scrollWidth ?? 0,
    innerWidth: window.innerWidth,
  }))
  expect(scrollWidth, `${where}: the page scrolls sideways (${scrollWidth} > ${innerWidth})`).toBeLessThanOrEqual(innerWidth)
}

test('every screen fits 390 px without sideways scrolling', async ({ adminPage: page, adminApi }) => {
  const user = await createUser(adminApi, { username: uniqueTag('ph'), email: `${uniqueTag('ph')}@example.com` })
  const screens = [
    '/admin/users',
    `/admin/users/${user.publicId}`,
    '/admin/billing',
    '/admin/audit',
    '/admin/integrations',
    '/admin/auth/signin',
    '/admin/auth/registration',
    '/admin/auth/email',
    '/admin/auth/human-verification',
    '/admin/auth/providers',
    '/admin/auth/security',
    '/admin/auth/password-policy',
    '/account/profile',
    '/account/security',
    '/account/providers',
  ]
  // One load, then the console's router from screen to screen (a reload
  // per screen cost a second or more each and checked nothing more).
  trackRequests(page)
  for (const path of screens) {
    await visit(page, path)
    await expect(page).toHaveURL(path)
    await expect(page.getByRole('main')).toBeVisible()
    await settled(page)
    await expectNoSideways(page, path)
  }
  await page.context().clearCookies()
  for (const path of ['/login', '/forgot-password', '/setup']) {
    await page.goto(path)
    await expect(page.getByRole('main')).toBeVisible()
    await expectNoSideways(page, path)
  }
})

test('on a phone: menu drawer, find an account, select it, open it, change its status', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('pf')
  const one = await createUser(adminApi, { username: `${tag}-one`, displayName: `One ${tag}` })
  await createUser(adminApi, { username: `${tag}-two`, displayName: `Two ${tag}` })

  await test.step('the menu is a drawer opened from the header', async () => {
    await page.goto('/admin/audit')
    await expect(page.getByRole('navigation')).toHaveCount(0)
    await page.getByRole('button', { name: 'Menu', exact: true }).click()
    const drawer = page.getByRole('dialog')
    await expect(drawer.getByRole('navigation')).toBeVisible()
    await drawer.getByRole('link', { name: 'Accounts' }).click()
    await expect(page).toHaveURL(/\/admin\/users$/)
    await expect(page.getByRole('dialog')).toHaveCount(0)
  })

  await test.step('the filters open from a button; the search finds the accounts', async () => {
    await expect(page.getByLabel('Role')).toBeHidden()
    await page.getByRole('button', { name: 'Filters', exact: true }).click()
    await expect(page.getByLabel('Role')).toBeVisible()
    await page.getByRole('button', { name: 'Filters', exact: true }).click()
    await page.getByRole('searchbox').fill(tag)
    // Both accounts are new, so they may already show on the unfiltered
    // first page; the search's answer replaces the list and clears a
    // selection made before it. Wait for it: only these two remain.
    await expect(page).toHaveURL(new RegExp(`q=${tag}`))
    await expect(page.getByRole('checkbox', { name: /^Select (?!every)/ })).toHaveCount(2)
    await expect(page.getByRole('link', { name: `One ${tag}` })).toBeVisible()
    await expect(page.getByRole('link', { name: `Two ${tag}` })).toBeVisible()
    await expectNoSideways(page, 'accounts list')
  })

  await test.step('bulk selection from the cards', async () => {
    await page.getByRole('checkbox', { name: `Select ${tag}-one` }).click()
    await page.getByRole('checkbox', { name: `Select ${tag}-two` }).click()
    await expect(page.getByRole('region', { name: /./ }).getByText('2 accounts selected')).toBeVisible()
    await page.getByRole('button', { name: 'Clear selection' }).click()
    await expect(page.getByText('2 accounts selected')).toHaveCount(0)
  })

  await test.step('open the account and change its status', async () => {
    await page.getByRole('link', { name: `One ${tag}` }).click()
    await expect(page).toHaveURL(new RegExp(`/admin/users/${one.publicId}$`))
    await expectNoSideways(page, 'account editor')
    await page.getByRole('combobox', { name: 'Status' }).click()
    // naive-ui's options carry no option role.
    await page.locator('.n-base-select-option', { hasText: /^Suspended$/ }).click()
    await page.getByRole('button', { name: 'Change status' }).click()
    await expect(page.getByRole('dialog')).toBeVisible()
    await page.getByTestId('status-dialog-reason').fill('phone check')
    await page.getByTestId('status-dialog-confirm').click()
    await expect(page.getByRole('dialog')).toHaveCount(0)
    await expect(page.getByTestId('user-status-tag')).toHaveText('Suspended')
  })
})
