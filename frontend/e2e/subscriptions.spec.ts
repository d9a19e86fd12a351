// Issue 15, billing in the account editor: assigning a plan with a period
// starts a period (the expiry defaults to now + the plan's period, and an
// empty expiry is warned about); the balance dialog refuses a result below
// zero itself and shows the new balance after a change.
import type { APIRequestContext } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

async function setMode(api: APIRequestContext, mode: 'self' | 'period' | 'usage'): Promise<void> {
  const current = await (await api.get('/api/admin/settings/billing')).json()
  const res = await api.put('/api/admin/settings/billing', { data: { mode, currency: 'USD', version: current.version } })
  expect(res.status(), await res.text()).toBe(200)
}

async function subscription(api: APIRequestContext, publicId: string): Promise<{ planId?: number | null; expiresAt?: string | null }> {
  const res = await api.get(`/api/admin/users/${publicId}`)
  expect(res.status()).toBe(200)
  return ((await res.json()) as { user: { subscription: { planId?: number | null; expiresAt?: string | null } } }).user.subscription
}

const day = 86_400_000

test.afterEach(async ({ adminApi }) => {
  await setMode(adminApi, 'self')
})

test('assigning a plan defaults the expiry to one period and warns when it is left empty', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('sub')
  await setMode(adminApi, 'period')
  const created = await adminApi.post('/api/admin/plans', { data: { name: `Quarterly ${tag}`, periodDays: 90, priceMinor: 2500 } })
  expect(created.status(), await created.text()).toBe(201)
  const user = await createUser(adminApi, { username: `${tag}-member` })
  await page.goto(`/admin/users/${user.publicId}`)
  const section = page.getByTestId('user-section-billing')

  await test.step('choosing the plan fills in the end of one period', async () => {
    await section.getByTestId('user-plan').click()
    await page.locator('.n-base-select-option', { hasText: `Quarterly ${tag}` }).click()
    await expect(section.getByText(`One period of Quarterly ${tag} from now (90 days). Change it if needed.`)).toBeVisible()
    const shown = new Date(Date.now() + 90 * day).toISOString().slice(0, 10)
    await expect(section.getByTestId('user-expires').getByRole('textbox')).toHaveValue(new RegExp(`^${shown}`))
    await expect(section.getByTestId('user-expires-never')).toHaveCount(0)
    await section.getByTestId('user-plan-save').click()
    await expect(page.getByText(`Saved the subscription of ${tag}-member.`)).toBeVisible()
    const saved = await subscription(adminApi, user.publicId)
    expect(Math.abs(Date.parse(saved.expiresAt!) - (Date.now() + 90 * day))).toBeLessThan(10 * 60_000)
  })

  await test.step('an empty expiry is warned about, and saved as no end on purpose', async () => {
    await section.getByTestId('user-expires').hover()
    await section.getByTestId('user-expires').locator('.n-base-clear').click()
    await expect(section.getByTestId('user-expires-never')).toHaveText(
      'No end date: this subscription never expires. Pick a date, or save to keep it open-ended on purpose.',
    )
    await section.getByTestId('user-plan-save').click()
    await expect(page.getByText(`Saved the subscription of ${tag}-member.`).last()).toBeVisible()
    await expect.poll(async () => (await subscription(adminApi, user.publicId)).expiresAt ?? null).toBeNull()
    await expect(section.getByTestId('user-expires-never')).toBeVisible()
  })
})

test('the balance dialog refuses a result below zero and shows the new balance after a change', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('bal')
  await setMode(adminApi, 'usage')
  const user = await createUser(adminApi, { username: `${tag}-payer` })
  await page.goto(`/admin/users/${user.publicId}`)
  await expect(page.getByTestId('user-balance')).toHaveText('$0.00', { timeout: 30_000 }) // the first load, on a busy machine
  await page.getByRole('button', { name: 'Change balance' }).click()
  const dialog = page.getByRole('dialog', { name: `Change the balance of ${tag}-payer` })
  const amount = dialog.getByLabel('Amount (USD)')
  const confirm = dialog.getByRole('button', { name: 'Confirm' })

  await test.step('below zero: refused in the dialog, before the server is asked', async () => {
    let asked = false
    page.on('request', (r) => {
      if (r.url().endsWith('/balance')) asked = true
    })
    await amount.fill('-5')
    await expect(dialog.getByText('New balance: -$5.00')).toBeVisible()
    await expect(dialog.getByText('The balance would go below zero. Allow a negative balance explicitly to do this.')).toBeVisible()
    await expect(confirm).toBeDisabled()
    await dialog.getByLabel('Allow a negative balance').check()
    await expect(confirm).toBeEnabled()
    await dialog.getByLabel('Allow a negative balance').uncheck()
    await expect(confirm).toBeDisabled()
    expect(asked).toBe(false)
  })

  await test.step('a credit: the new balance and a toast that names the account', async () => {
    await expect(dialog.getByRole('radio', { name: 'Add (use a minus sign to subtract)' })).toBeChecked()
    await amount.fill('7.25')
    await expect(dialog.getByText('New balance: $7.25')).toBeVisible()
    await expect(confirm).toBeEnabled()
    await dialog.getByLabel('Reason (optional, kept in the audit log)').fill(`welcome ${tag}`)
    await confirm.click()
    await expect(page.getByText(`Changed the balance of ${tag}-payer.`)).toBeVisible()
    await expect(dialog).toBeHidden()
    await expect(page.getByTestId('user-balance')).toHaveText('$7.25')
    await expect(page.getByTestId('user-ledger')).toContainText(`welcome ${tag}`)
  })
})
