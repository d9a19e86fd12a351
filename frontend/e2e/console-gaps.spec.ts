// Issue 15, the remaining frictions: a normal user who opens the admin
// console is told so; a page past the end of the list offers the last page;
// bulk delete asks for an unambiguous confirmation and previews in its own
// words; fields say what to type rather than "Please Input".
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

test('a normal user opening /admin sees a "no access" page', async ({ page, adminApi }) => {
  const tag = uniqueTag('na')
  await createUser(adminApi, { username: `${tag}-ann`, password: 'meadow-copper-4417' })
  const res = await page.request.post('/api/auth/login', { data: { identifier: `${tag}-ann`, password: 'meadow-copper-4417' } })
  expect(res.status()).toBe(200)
  await page.goto('/admin/users')
  await expect(page.getByRole('heading', { name: 'No access' })).toBeVisible()
  await expect(page.getByText('Your account cannot open the administration console.')).toBeVisible()
  await page.getByRole('link', { name: 'Go to my account' }).click()
  await expect(page).toHaveURL(/\/account\/profile$/)
})

test('paging past the end of the list offers the last page', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('pg')
  for (const n of [1, 2, 3]) await createUser(adminApi, { username: `${tag}-${n}` })
  await page.goto(`/admin/users?q=${tag}&perPage=20&page=4`)
  await expect(page.getByText('There is no page 4: the 3 matching accounts fit on 1 page.')).toBeVisible()
  await page.getByRole('button', { name: 'Go to page 1' }).click()
  await expect(page.getByTestId('user-row')).toHaveCount(3)
})

test('bulk delete asks for an unambiguous text and previews in its own words', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('bd')
  for (const n of [1, 2]) await createUser(adminApi, { username: `${tag}-${n}` })
  await page.goto(`/admin/users?q=${tag}`)
  await expect(page.getByTestId('user-row')).toHaveCount(2)
  await page.getByRole('checkbox', { name: 'Select every account on this page' }).check()
  await page.getByTestId('bulk-delete').click()
  const dialog = page.getByRole('dialog')
  await expect(dialog.getByText('2 accounts will be deleted.')).toBeVisible()
  await expect(dialog.getByText(/will change|already in that state/)).toHaveCount(0)
  const typed = dialog.getByLabel('Type “delete 2” to confirm')
  const confirm = dialog.getByRole('button', { name: 'Delete 2 accounts' })
  for (const wrong of ['DELETE', 'DELETE / 2', '2']) {
    await typed.fill(wrong)
    await expect(confirm).toBeDisabled()
  }
  await typed.fill('delete 2')
  await expect(confirm).toBeEnabled()
  await confirm.click()
  await expect(page.getByTestId('user-row')).toHaveCount(0)
})

test('fields say what to type, never "Please Input"', async ({ adminPage: page, adminApi, browser, baseURL }) => {
  await page.goto('/admin/users')
  await page.getByTestId('users-create').click()
  const dialog = page.getByRole('dialog')
  await expect(dialog.getByLabel('Email')).toHaveAttribute('placeholder', 'name@example.com')
  await expect(dialog.getByPlaceholder(/please input/i)).toHaveCount(0)
  await page.keyboard.press('Escape')
  const someone = await createUser(adminApi, { username: uniqueTag('ph') })
  for (const path of ['/admin/auth/registration', `/admin/users/${someone.publicId}`, '/account/profile', '/account/security']) {
    await page.goto(path)
    await page.waitForLoadState('networkidle')
    await expect(page.getByPlaceholder(/please input/i), path).toHaveCount(0)
  }
  // Signed out: the sign-in and registration forms.
  const context = await browser.newContext({ baseURL })
  const anonymous = await context.newPage()
  for (const path of ['/login', '/forgot-password']) {
    await anonymous.goto(path)
    await expect(anonymous.getByRole('main'), path).toBeVisible()
    await expect(anonymous.getByRole('textbox').first(), path).toBeVisible()
    await expect(anonymous.getByPlaceholder(/please input/i), path).toHaveCount(0)
  }
  await context.close()
})

test('links use the theme colour in both themes', async ({ browser, baseURL }) => {
  for (const [theme, colour] of [
    ['light', 'rgb(12, 122, 67)'],
    ['dark', 'rgb(99, 226, 183)'],
  ] as const) {
    const context = await browser.newContext({ baseURL, colorScheme: theme })
    await context.addInitScript((t) => localStorage.setItem('gatehouse.theme', t), theme)
    const page = await context.newPage()
    await page.goto('/login')
    await expect(page.getByRole('link', { name: 'Forgot password?' }), theme).toHaveCSS('color', colour)
    await context.close()
  }
})

test('re-opening a used setup link says it was used', async ({ page }) => {
  // The worker's server was set up by admin-fixtures.ts: every setup link is used.
  await page.goto('/setup?token=already-used')
  await expect(page).toHaveURL(/\/login/)
  await expect(page.getByText('This setup link has already been used: Gatehouse is set up. Sign in instead.')).toBeVisible()
})
