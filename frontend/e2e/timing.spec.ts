import { expect, root, test } from './admin-fixtures'

// How long the sign-in page and the Accounts screen take to become usable
// in Chromium against the real binary on localhost. Reported (in the test
// output and as annotations), not asserted: timings are for BENCHMARKS.md,
// never a pass/fail condition.

test('time to interactive: sign-in page and Accounts screen', async ({ page, adminApi, browser, baseURL }) => {
  const fresh = await browser.newContext({ baseURL })
  const p = await fresh.newPage()
  const t0 = Date.now()
  await p.goto('/login')
  await expect(p.getByTestId('login-submit')).toBeEnabled()
  await p.getByTestId('login-identifier').fill('probe')
  const signIn = Date.now() - t0
  await fresh.close()

  expect((await adminApi.get('/api/admin/users')).status()).toBe(200)
  await page.request.post('/api/auth/login', { data: { identifier: root.username, password: root.password } })
  const t1 = Date.now()
  await page.goto('/admin/users')
  await expect(page.getByTestId('user-row').first()).toBeVisible()
  const accounts = Date.now() - t1

  test.info().annotations.push({ type: 'sign-in page interactive (ms)', description: String(signIn) })
  test.info().annotations.push({ type: 'Accounts screen with rows (ms)', description: String(accounts) })
  console.log(`time to interactive: sign-in page ${signIn} ms, Accounts screen ${accounts} ms`)
})
