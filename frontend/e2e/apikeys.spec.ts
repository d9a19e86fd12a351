import { expect, test, uniqueTag } from './admin-fixtures'

// API keys: a super administrator creates a key (shown once), the key reads
// an entitlement, and revoking it refuses the key at once.
test('a super administrator creates an API key, sees it once, and revokes it', async ({ adminPage: page }) => {
  const name = uniqueTag('svc')
  await page.goto('/admin/api-keys')
  await expect(page.getByRole('heading', { name: 'API keys' })).toBeVisible()
  await page.getByTestId('api-key-create').click()
  const dialog = page.getByRole('dialog', { name: 'Create an API key' })
  await expect(dialog).toBeVisible()
  await dialog.getByTestId('api-key-name').fill(name)
  await dialog.getByRole('checkbox', { name: 'billing:read — Read entitlements and ledgers' }).check()
  await dialog.getByTestId('api-key-save').click()
  const secret = page.getByTestId('api-key-secret')
  await expect(secret).toHaveValue(/^ghk_[0-9a-z]{8}_[A-Za-z0-9_-]{43}$/)
  const key = await secret.inputValue()
  await expect(page.getByText('Copy the key now: it is shown only once and cannot be recovered.')).toBeVisible()
  await page.getByTestId('api-key-done').click()
  await expect(page.getByTestId('api-key-secret')).toHaveCount(0)

  const row = page.getByTestId('api-key-row').filter({ hasText: name })
  await expect(row).toHaveAttribute('data-state', 'active')
  await expect(row).toContainText(key.slice(0, 12))
  await expect(row).not.toContainText(key.slice(13))

  const me = await (await page.request.get('/api/me')).json()
  const ok = await page.request.get(`/api/service/entitlements/${me.publicId}`, { headers: { Authorization: `Bearer ${key}` } })
  expect(ok.status()).toBe(200)

  await row.getByRole('button', { name: `Revoke ${name}` }).click()
  await page.getByRole('button', { name: 'Revoke', exact: true }).click()
  await expect(page.getByText('The key was revoked.')).toBeVisible()
  await expect(row).toHaveAttribute('data-state', 'revoked')
  const refused = await page.request.get(`/api/service/entitlements/${me.publicId}`, { headers: { Authorization: `Bearer ${key}` } })
  expect(refused.status()).toBe(401)
})
