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
  await page.getByRole('combobox', { name: 'Action' }).click()
  await page.keyboard.type('Status changed')
  await page.locator('.n-base-select-option', { hasText: /^Status changed$/ }).click()
  await page.getByTestId('audit-apply').click()
  await expect(page).toHaveURL(/action=user\.status_changed/)
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

test('billing: plans, a plan in use cannot be deleted, balance changes go to the ledger', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('bl')
  const user = await createUser(adminApi, { username: `${tag}-payer` })
  const before = await (await adminApi.get('/api/admin/settings/billing')).json()
  try {
    await test.step('period mode and a new plan', async () => {
      await page.goto('/admin/billing')
      await page.getByTestId('billing-mode-period').click()
      await page.getByTestId('billing-currency').fill('USD')
      await page.getByTestId('billing-save').click()
      await expect(page.getByText('Billing settings saved.')).toBeVisible()
      await page.getByTestId('plan-create').click()
      await page.getByTestId('plan-name').fill(`Pro ${tag}`)
      await page.getByTestId('plan-price').fill('9.99')
      await page.getByTestId('plan-save').click()
      await expect(page.getByTestId('plan-row').filter({ hasText: `Pro ${tag}` })).toContainText('$9.99')
    })

    await test.step('a plan in use: delete is refused with the reason', async () => {
      const plans = (await (await adminApi.get('/api/admin/plans')).json()).items as { id: number; name: string }[]
      const plan = plans.find((p) => p.name === `Pro ${tag}`)!
      const res = await adminApi.patch(`/api/admin/users/${user.publicId}`, { data: { planId: plan.id, subscriptionExpiresAt: '2099-01-01T00:00:00Z' } })
      expect(res.status(), await res.text()).toBe(200)
      await page.reload()
      await page.getByTestId('plan-row').filter({ hasText: `Pro ${tag}` }).getByTestId('plan-delete').click()
      await expect(page.getByTestId('plan-in-use')).toContainText('cannot be deleted')
    })

    await test.step('the list shows the plan column in period mode', async () => {
      await page.goto(`/admin/users?q=${tag}`)
      await expect(page.getByTestId('user-row')).toContainText(`Pro ${tag}`)
    })

    await test.step('usage mode: change a balance, see it in the ledger', async () => {
      const current = await (await adminApi.get('/api/admin/settings/billing')).json()
      const res = await adminApi.put('/api/admin/settings/billing', { data: { mode: 'usage', currency: 'USD', version: current.version } })
      expect(res.status(), await res.text()).toBe(200)
      await page.goto(`/admin/users/${user.publicId}`)
      await page.getByTestId('user-balance-change').click()
      await page.getByTestId('balance-amount').fill('12.50')
      await expect(page.getByTestId('balance-after')).toContainText('$12.50')
      await page.getByTestId('balance-dialog-reason').fill('welcome credit')
      await page.getByTestId('balance-dialog-confirm').click()
      await expect(page.getByTestId('user-balance')).toHaveText('$12.50')
      await expect(page.getByTestId('user-ledger')).toContainText('welcome credit')
    })
  } finally {
    const current = await (await adminApi.get('/api/admin/settings/billing')).json()
    await adminApi.put('/api/admin/settings/billing', { data: { mode: before.mode, currency: before.currency, version: current.version } })
  }
})

test('reset a password: the generated one is shown once', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('pw')
  const user = await createUser(adminApi, { username: `${tag}-forgetful` })
  await page.goto(`/admin/users/${user.publicId}`)
  await page.getByTestId('user-reset-password').click()
  const dialog = page.getByTestId('security-dialog')
  await expect(dialog).toContainText('make sure they are who they say they are')
  await page.getByTestId('security-dialog-reason').fill('ticket 4711')
  await page.getByTestId('security-dialog-confirm').click()
  const secret = page.getByTestId('generated-password')
  await expect(secret).not.toBeEmpty()
  const password = (await secret.textContent())!.trim()
  await page.getByTestId('generated-password-close').click()
  await expect(secret).toBeHidden()
  const other = await page.context().browser()!.newContext({ baseURL: page.url() })
  const res = await other.request.post('/api/auth/login', { data: { identifier: user.username, password } })
  expect(res.status()).toBe(200)
  await other.close()
})

test('a relative time in the list shows the exact time on hover and on focus', async ({ adminPage: page }) => {
  // The super administrator has signed in, so its row has a last sign-in time.
  await page.goto('/admin/users?q=root')
  const row = page.getByTestId('user-row').and(page.locator('[data-username="root"]'))
  const time = row.locator('time')
  await expect(time).toHaveText(/ago|now/)
  const year = String(new Date().getUTCFullYear())
  const hint = page.locator('.n-tooltip').filter({ hasText: year })

  await time.hover()
  await expect(hint).toBeVisible()
  await page.getByTestId('users-search').hover()
  await expect(hint).toBeHidden()

  await time.focus()
  await expect(hint).toBeVisible()
  await time.blur()
  await expect(hint).toBeHidden()
})
