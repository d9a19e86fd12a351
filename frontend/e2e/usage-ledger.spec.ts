import { createUser, expect, test, uniqueTag } from './admin-fixtures'

// A service charges usage through the API with its key; the administrator
// finds the charge in the account's balance history with the key (name and
// prefix) as actor, its type, idempotency key and metadata, beside a
// refund by the same key and a change made in the console (issue 20).

test('usage ledger: a service charge shows its key, idempotency key and metadata in the console', async ({ adminPage: page, adminApi }) => {
  test.setTimeout(120_000)
  const tag = uniqueTag('meter')
  const user = await createUser(adminApi, { username: `${tag}-payer` })
  const before = await (await adminApi.get('/api/admin/settings/billing')).json()
  try {
    const current = await (await adminApi.get('/api/admin/settings/billing')).json()
    const set = await adminApi.put('/api/admin/settings/billing', { data: { mode: 'usage', currency: 'USD', version: current.version } })
    expect(set.status(), await set.text()).toBe(200)
    const top = await adminApi.post(`/api/admin/users/${user.publicId}/balance`, { data: { mode: 'add', amount: 1000, reason: 'welcome credit' } })
    expect(top.status(), await top.text()).toBe(200)
    const created = await adminApi.post('/api/admin/api-keys', { data: { name: `${tag}-svc`, scopes: ['billing:charge'] } })
    expect(created.status(), await created.text()).toBe(201)
    const { key, secret } = (await created.json()) as { key: { prefix: string }; secret: string }
    const auth = { Authorization: `Bearer ${secret}` }
    const charge = await page.request.post('/api/service/usage/charges', {
      headers: auth,
      data: { account: user.publicId, amount: 250, idempotencyKey: `${tag}-job-1`, reason: 'render job', metadata: { model: 'vision-2', tokens: 1234 } },
    })
    expect(charge.status(), await charge.text()).toBe(201)
    const refund = await page.request.post('/api/service/usage/charges', {
      headers: auth,
      data: { account: user.publicId, amount: 50, type: 'refund', idempotencyKey: `${tag}-job-1-refund`, reason: 'partial failure' },
    })
    expect(refund.status(), await refund.text()).toBe(201)

    await page.goto(`/admin/users/${user.publicId}`)
    await expect(page.getByTestId('user-balance')).toHaveText('$8.00', { timeout: 30_000 })
    const ledger = page.getByTestId('user-ledger')
    const chargeRow = ledger.locator('tbody tr').filter({ hasText: 'render job' })
    await expect(chargeRow).toContainText(`API key ${tag}-svc (${key.prefix})`)
    await expect(chargeRow).toContainText('Charge')
    await expect(chargeRow).toContainText(`Idempotency key: ${tag}-job-1`)
    await expect(chargeRow).toContainText('"model":"vision-2"')
    await expect(chargeRow).toContainText('-$2.50')
    const refundRow = ledger.locator('tbody tr').filter({ hasText: 'partial failure' })
    await expect(refundRow).toContainText('Refund')
    await expect(refundRow).toContainText(`Idempotency key: ${tag}-job-1-refund`)
    await expect(refundRow).toContainText('+$0.50')
    const consoleRow = ledger.locator('tbody tr').filter({ hasText: 'welcome credit' })
    await expect(consoleRow).toContainText('root')
    await expect(consoleRow).not.toContainText('Idempotency key')

  } finally {
    const current = await (await adminApi.get('/api/admin/settings/billing')).json()
    await adminApi.put('/api/admin/settings/billing', { data: { mode: before.mode, currency: before.currency, version: current.version } })
  }
})
