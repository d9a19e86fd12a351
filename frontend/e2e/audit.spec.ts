// Issue 15, audit log: actions are picked and shown by readable names (en
// and zh-CN) instead of typed codes, a settings change says which group
// changed, and an account's history shows role changes beside status
// changes.
import type { APIRequestContext, Page } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

/** Saves the password policy as it is: a settings.updated row for that group. */
async function savePasswordPolicy(api: APIRequestContext): Promise<void> {
  const current = (await (await api.get('/api/admin/settings/password-policy')).json()) as Record<string, unknown>
  const res = await api.put('/api/admin/settings/password-policy', { data: current })
  expect(res.status(), await res.text()).toBe(200)
}

/** Picks an action in the filter by its name (naive-ui's options carry no option role). */
async function pickAction(page: Page, field: string, name: string): Promise<void> {
  await page.getByRole('combobox', { name: field }).click()
  await page.keyboard.type(name)
  const exact = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
  await page.locator('.n-base-select-option', { hasText: exact }).click()
}

test('actions are picked by name; a settings change names its group; role changes are in the history', async ({ adminPage: page, adminApi }) => {
  test.setTimeout(120_000)
  await savePasswordPolicy(adminApi)
  const tag = uniqueTag('au')
  const user = await createUser(adminApi, { username: `${tag}-ann` })
  const promote = await adminApi.patch(`/api/admin/users/${user.publicId}`, { data: { role: 'admin', reason: 'audit check' } })
  expect(promote.status(), await promote.text()).toBe(200)

  await page.goto('/admin/audit')
  await pickAction(page, 'Action', 'Settings changed')
  await page.getByRole('button', { name: 'Apply' }).click()
  await expect(page).toHaveURL(/action=settings\.updated/)
  const rows = page.getByTestId('audit-row')
  await expect(rows.filter({ hasText: 'Settings changed: Password policy' }).first()).toBeVisible()
  await expect(rows.filter({ hasText: 'settings.updated' })).toHaveCount(0)

  // A whole area: "All: Accounts (by administrators)" is the prefix user.
  await pickAction(page, 'Action', 'All: Accounts (by administrators)')
  await page.getByRole('button', { name: 'Apply' }).click()
  await expect(page).toHaveURL(/action=user\.(&|$)/)
  await expect(rows.filter({ hasText: 'Role changed' }).filter({ hasText: `${tag}-ann` })).toHaveCount(1)

  await page.goto(`/admin/users/${user.publicId}`)
  const history = page.getByTestId('status-history-row')
  await expect(history.filter({ hasText: 'Role: User → Administrator' })).toHaveCount(1)
  await expect(history.filter({ hasText: 'Account created' })).toHaveCount(1)
})

test('the audit log in Chinese', async ({ adminPage: page, adminApi }) => {
  await savePasswordPolicy(adminApi)
  await page.addInitScript(() => localStorage.setItem('gatehouse.locale', 'zh-CN'))
  await page.goto('/admin/audit?action=settings.updated')
  await expect(page.getByTestId('audit-filter-action')).toContainText('设置已更改')
  await expect(page.getByTestId('audit-row').filter({ hasText: '设置已更改：密码策略' }).first()).toBeVisible()
})
