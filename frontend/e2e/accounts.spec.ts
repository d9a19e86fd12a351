import type { Locator, Page } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

// Each test creates its own accounts on the spec's own server, so the tests
// need no order and do not depend on console.spec.ts.

async function choose(page: Page, select: Locator, option: string | RegExp): Promise<void> {
  await select.click()
  await page.locator('.n-base-select-option', { hasText: option }).first().click()
}

test('search, filter, sort, open the editor and change a status with a reason', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('ed')
  const alpha = await createUser(adminApi, { username: `${tag}-alpha`, displayName: `Alpha ${tag}`, email: `${tag}-alpha@example.com` })
  await createUser(adminApi, { username: `${tag}-beta`, displayName: `Beta ${tag}`, role: 'admin' })
  await createUser(adminApi, { username: `${tag}-gamma`, displayName: `Gamma ${tag}` })
  const rows = page.getByTestId('user-row')

  await test.step('the search box narrows the list and goes into the URL', async () => {
    await page.goto('/admin/users')
    await expect(page.getByTestId('nav-accounts')).toBeVisible()
    await page.getByTestId('users-search').fill(tag)
    await expect(page).toHaveURL(new RegExp(`q=${tag}`))
    await expect(rows).toHaveCount(3)
  })

  await test.step('sort by display name, both directions', async () => {
    await choose(page, page.getByTestId('users-sort'), 'Display name')
    await expect(page).toHaveURL(/sort=-display_name/)
    await expect(rows.first()).toHaveAttribute('data-username', `${tag}-gamma`)
    await page.getByTestId('users-sort-direction').click()
    await expect(page).toHaveURL(/sort=display_name/)
    await expect(rows.first()).toHaveAttribute('data-username', `${tag}-alpha`)
  })

  await test.step('a filter lives in the URL and survives a reload', async () => {
    await choose(page, page.getByTestId('users-filter-role'), /^Administrator$/)
    await expect(page).toHaveURL(/role=admin/)
    await expect(rows).toHaveCount(1)
    await expect(rows.first()).toHaveAttribute('data-username', `${tag}-beta`)
    await page.reload()
    await expect(page.getByTestId('users-search')).toHaveValue(tag)
    await expect(rows).toHaveCount(1)
    await page.getByTestId('users-filter-clear').click()
    await expect(page).not.toHaveURL(/role=/)
  })

  await test.step('open the editor from the list', async () => {
    await page.goto(`/admin/users?q=${tag}&sort=display_name`)
    await rows.filter({ hasText: `Alpha ${tag}` }).getByTestId('user-link').click()
    await expect(page).toHaveURL(new RegExp(`/admin/users/${alpha.publicId}$`))
    await expect(page.getByTestId('user-title')).toHaveText(`Alpha ${tag}`)
    await expect(page.getByTestId('user-public-id')).toHaveText(alpha.publicId)
    await expect(page.getByTestId('user-email')).toHaveValue(`${tag}-alpha@example.com`)
  })

  await test.step('change the status with a reason, confirmed in a dialog', async () => {
    await choose(page, page.getByTestId('user-status-select'), /^Suspended$/)
    await page.getByTestId('user-status-change').click()
    const dialog = page.getByTestId('status-dialog')
    await expect(dialog).toBeVisible()
    await expect(dialog).toContainText('signs the account out of every device')
    await page.getByTestId('status-dialog-reason').fill('chargeback investigation')
    await page.getByTestId('status-dialog-confirm').click()
    await expect(dialog).toBeHidden()
    await expect(page.getByTestId('user-status-tag')).toHaveText('Suspended')
    await expect(page.getByTestId('status-history-row').filter({ hasText: 'chargeback investigation' })).toHaveCount(1)
  })
})

test('bulk-suspend three accounts with a dry-run preview, then find them in the audit log', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('bk')
  const names = [`${tag}-one`, `${tag}-two`, `${tag}-three`]
  for (const username of names) await createUser(adminApi, { username })
  const rows = page.getByTestId('user-row')

  await page.goto(`/admin/users?q=${tag}`)
  await expect(rows).toHaveCount(3)
  for (const row of await rows.all()) await row.locator('.n-checkbox').click()
  await expect(page.getByTestId('bulk-count')).toHaveText('3 accounts selected')

  await page.getByTestId('bulk-set_status').click()
  const dialog = page.getByTestId('bulk-dialog')
  await expect(dialog).toBeVisible()
  await expect(page.getByTestId('bulk-preview-changed')).toHaveText('3 accounts will change.')
  await expect(page.getByTestId('bulk-refused')).toHaveCount(0)
  await page.getByTestId('bulk-reason').fill('spam wave')
  await page.getByTestId('bulk-confirm').click()
  await expect(dialog).toBeHidden()
  await expect(page.getByText('3 accounts changed.')).toBeVisible()
  await expect(rows.getByTestId('user-status')).toHaveText(['Suspended', 'Suspended', 'Suspended'])

  await page.getByTestId('nav-audit').click()
  await page.getByTestId('audit-filter-action').fill('user.status_changed')
  await page.getByTestId('audit-apply').click()
  const audit = page.getByTestId('audit-row')
  for (const username of names) await expect(audit.filter({ hasText: username })).toHaveCount(1)
})

test('a bulk dry run names the refused accounts in words', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('rf')
  await createUser(adminApi, { username: `${tag}-user` })
  await page.goto(`/admin/users?q=root`)
  await expect(page.getByTestId('user-row')).toHaveCount(1)
  await page.getByTestId('user-row').locator('.n-checkbox').click()
  await page.getByTestId('bulk-set_status').click()
  await expect(page.getByTestId('bulk-refused-row')).toContainText('root')
  await expect(page.getByTestId('bulk-refused-row')).toContainText('your own role or status')
  await expect(page.getByTestId('bulk-confirm')).toBeDisabled()
  await page.getByTestId('bulk-cancel').click()
})

test('CSV export downloads the filtered accounts', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('cv')
  await createUser(adminApi, { username: `${tag}-csv` })
  await page.goto(`/admin/users?q=${tag}`)
  await expect(page.getByTestId('user-row')).toHaveCount(1)
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('users-export').click()])
  const path = await download.path()
  const { readFile } = await import('node:fs/promises')
  const text = await readFile(path, 'utf8')
  expect(text).toContain(`${tag}-csv`)
  expect(text).not.toContain('root@example.com')
})
