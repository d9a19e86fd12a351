import type { APIRequestContext, Page } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

// "Login & auth" against the real binary, on the spec's own server (see
// admin-fixtures.ts), so the order of spec files does not matter. A test
// that changes a setting puts it back in `finally`.

const generic = 'The sign-in name or password is incorrect.'

async function signIn(page: Page, identifier: string, password: string): Promise<void> {
  await page.getByTestId('login-identifier').fill(identifier)
  await page.getByTestId('login-password').fill(password)
  await page.getByTestId('login-submit').click()
}

async function getGroup(api: APIRequestContext, group: string): Promise<Record<string, unknown> & { version: number }> {
  const res = await api.get(`/api/admin/settings/${group}`)
  expect(res.status(), await res.text()).toBe(200)
  return (await res.json()) as Record<string, unknown> & { version: number }
}

/** Writes fields back into a group, on top of whatever version is current. */
async function restoreGroup(api: APIRequestContext, group: string, fields: Record<string, unknown>): Promise<void> {
  const current = await getGroup(api, group)
  const res = await api.put(`/api/admin/settings/${group}`, { data: { ...current, ...fields, version: current.version } })
  expect(res.status(), await res.text()).toBe(200)
}

test('turning off both username and email sign-in is stopped with an explanation', async ({ adminPage: page, adminApi }) => {
  await page.goto('/admin')
  await page.getByTestId('nav-auth').click()
  await expect(page).toHaveURL(/\/admin\/auth\/signin$/)
  await expect(page.getByTestId('signin-summary-text')).toContainText(/administrators? can sign in with a username and password/)

  await page.getByTestId('signin-username').click()
  await page.getByTestId('signin-email').click()
  await expect(page.getByTestId('signin-guard')).toContainText('cannot both be turned off')

  await page.getByTestId('signin-save').click()
  await expect(page.getByTestId('signin-error')).toContainText('Username and email sign-in cannot both be turned off')

  const stored = await getGroup(adminApi, 'signin')
  expect(stored).toMatchObject({ usernameEnabled: true, emailEnabled: true })

  // The refused change is still unsaved: leaving the tab asks first, and
  // staying keeps the edit.
  page.once('dialog', (d) => void d.dismiss())
  await page.getByTestId('auth-tab-password-policy').click()
  await expect(page).toHaveURL(/\/admin\/auth\/signin$/)
  await expect(page.getByTestId('signin-guard')).toContainText('cannot both be turned off')

  // The tabs live in the URL and reach each group (giving the edit up).
  page.once('dialog', (d) => void d.accept())
  await page.getByTestId('auth-tab-password-policy').click()
  await expect(page).toHaveURL(/\/admin\/auth\/password-policy$/)
  await expect(page.getByTestId('policy-min-length')).toHaveValue(String((await getGroup(adminApi, 'password-policy')).minLength))
})

test('three wrong passwords lock an account; an administrator sees the lock and unlocks it', async ({
  adminPage: page,
  adminApi,
  browser,
  baseURL,
}) => {
  const before = await getGroup(adminApi, 'security')
  const tag = uniqueTag('lk')
  const password = 'sparrow-granite-6274'
  const user = await createUser(adminApi, { username: tag, password })
  const visitor = await browser.newContext({ baseURL })
  const userPage = await visitor.newPage()

  try {
    await test.step('the administrator sets the lock threshold to 3 in Login security', async () => {
      await page.goto('/admin/auth/security')
      const threshold = page.getByTestId('security-lock-threshold')
      await expect(threshold).toHaveValue(String(before.lockThreshold))
      await threshold.fill('3')
      await threshold.blur()
      await page.getByTestId('security-save').click()
      await expect(page.getByText('Settings saved.')).toBeVisible()
      expect((await getGroup(adminApi, 'security')).lockThreshold).toBe(3)
    })

    await test.step('the user mistypes the password three times and sees only the generic error', async () => {
      await userPage.goto('/login')
      for (let i = 0; i < 3; i++) {
        await signIn(userPage, tag, `wrong-${i}-${password}`)
        await expect(userPage.getByTestId('login-error')).toHaveText(generic)
      }
      // Locked now: even the right password gets the same answer.
      await signIn(userPage, tag, password)
      await expect(userPage.getByTestId('login-error')).toHaveText(generic)
      await expect(userPage).toHaveURL(/\/login/)
    })

    await test.step('the administrator sees the lock on the user page and unlocks', async () => {
      await page.goto(`/admin/users/${user.publicId}`)
      await expect(page.getByTestId('user-lock-state')).toContainText('Locked until')
      await page.getByTestId('user-unlock').click()
      await page.getByTestId('security-dialog-confirm').click()
      await expect(page.getByTestId('user-lock-state')).toHaveText('Not locked')
    })

    await test.step('the user signs in', async () => {
      await signIn(userPage, tag, password)
      await expect(userPage).toHaveURL(/\/account\/profile$/)
    })
  } finally {
    await visitor.close()
    await restoreGroup(adminApi, 'security', { lockThreshold: before.lockThreshold })
  }
})
