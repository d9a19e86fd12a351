import type { Page } from '@playwright/test'
import { expect, test } from './fixtures'

// One server for the whole file: the tests run in order and build on each other.
test.describe.configure({ mode: 'serial' })

const admin = {
  username: 'alice',
  displayName: 'Alice Admin',
  email: 'alice@example.com',
  password: 'lantern-orchard-7391',
  newPassword: 'harbour-compass-2846',
}

async function signIn(page: Page, identifier: string, password: string): Promise<void> {
  await page.getByTestId('login-identifier').fill(identifier)
  await page.getByTestId('login-password').fill(password)
  await page.getByTestId('login-submit').click()
}

test('setup, sign in, audit log, change password, sign out', async ({ page, setupToken }) => {
  expect(setupToken, 'global setup read the token from the server log').not.toBe('')

  await test.step('a visitor without the link is told where to find it', async () => {
    await page.goto('/')
    await expect(page).toHaveURL(/\/setup$/)
    await expect(page.getByTestId('setup-no-token')).toBeVisible()
  })

  await test.step('the setup link creates the super administrator', async () => {
    await page.goto(`/setup?token=${encodeURIComponent(setupToken)}`)
    await page.getByTestId('setup-username').fill(admin.username)
    await page.getByTestId('setup-display-name').fill(admin.displayName)
    await page.getByTestId('setup-email').fill(admin.email)
    await page.getByTestId('setup-password').fill(admin.password)
    await page.getByTestId('setup-confirm').fill(admin.password)
    await page.getByTestId('setup-submit').click()
  })

  await test.step('setup signs the new super administrator in and lands in the console', async () => {
    await expect(page).toHaveURL(/\/admin\/users$/)
    await expect(page.getByRole('main')).toBeVisible()
    // The session is the server's (a cookie), not the page's memory.
    await page.reload()
    await expect(page).toHaveURL(/\/admin\/users$/)
    await expect(page.getByRole('main')).toBeVisible()
    await page.getByTestId('nav-audit').click()
    await expect(page).toHaveURL(/\/admin\/audit$/)
  })

  await test.step('the audit log lists the setup and sign-in events', async () => {
    const rows = page.getByTestId('audit-row')
    await expect(rows.filter({ hasText: 'Setup completed' })).toHaveCount(1)
    const signedIn = rows.filter({ has: page.getByText('Signed in', { exact: true }) })
    await expect(signedIn.first()).toBeVisible()
    await signedIn.first().click()
    const drawer = page.getByTestId('audit-drawer')
    await expect(drawer).toBeVisible()
    await expect(page.getByTestId('audit-drawer-ip')).toHaveText('127.0.0.1')
    await expect(page.getByTestId('audit-drawer-ua')).toContainText('Mozilla')
    await page.keyboard.press('Escape')
    await expect(drawer).toBeHidden()
  })

  await test.step('audit filters live in the URL', async () => {
    await page.getByRole('combobox', { name: 'Action' }).click()
    await page.keyboard.type('All: Setup')
    await page.locator('.n-base-select-option', { hasText: /^All: Setup$/ }).click()
    await page.getByTestId('audit-apply').click()
    await expect(page).toHaveURL(/action=setup\./)
    await expect(page.getByTestId('audit-row')).toHaveCount(1)
    await page.reload()
    await expect(page.getByTestId('audit-filter-action')).toContainText('All: Setup')
    await expect(page.getByTestId('audit-row')).toHaveCount(1)
    await page.getByTestId('audit-reset').click()
    await expect(page).toHaveURL(/\/admin\/audit$/)
  })

  await test.step('account → security: change the password', async () => {
    await page.getByTestId('link-account').click()
    await expect(page).toHaveURL(/\/account\/profile$/)
    await expect(page.getByTestId('profile-username')).toHaveValue(admin.username)
    await page.getByTestId('nav-security').click()
    await expect(page).toHaveURL(/\/account\/security$/)
    await expect(page.getByTestId('session-current')).toBeVisible()
    await page.getByTestId('password-current').fill(admin.password)
    await page.getByTestId('password-new').fill(admin.newPassword)
    await page.getByTestId('password-confirm').fill(admin.newPassword)
    await page.getByTestId('password-submit').click()
    await expect(page.getByText('Password changed.')).toBeVisible()
    await expect(page.getByTestId('password-current')).toHaveValue('')
    // The current session survives its own password change.
    await expect(page.getByTestId('session-current')).toBeVisible()
  })

  await test.step('sign out from the header', async () => {
    await page.getByTestId('user-menu').click()
    await page.getByTestId('menu-sign-out').click()
    await expect(page).toHaveURL(/\/login/)
    await page.goto('/account/security')
    await expect(page).toHaveURL(/\/login\?next=(%2F|\/)account(%2F|\/)security$/)
  })

  await test.step('the old password no longer works', async () => {
    await signIn(page, admin.username, admin.password)
    await expect(page.getByTestId('login-error')).toBeVisible()
    await expect(page).toHaveURL(/\/login/)
  })

  await test.step('the new password works and honours next', async () => {
    await signIn(page, admin.username, admin.newPassword)
    await expect(page).toHaveURL(/\/account\/security$/)
    await expect(page.getByTestId('session-current')).toBeVisible()
  })
})

test('the language switch turns labels into Chinese and is remembered', async ({ page }) => {
  await page.goto('/login')
  const submit = page.getByTestId('login-submit')
  const label = page.getByTestId('login-identifier-item').locator('label')
  await expect(submit).toHaveText('Sign in')
  await expect(label).toHaveText(/^(Username|Email|Username or email)$/)

  await page.getByTestId('language-switcher').click()
  await page.getByText('简体中文').click()
  await expect(submit).toHaveText('登录')
  await expect(label).toHaveText(/^(用户名|邮箱|用户名或邮箱)$/)
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN')

  await page.reload()
  await expect(page.getByTestId('login-submit')).toHaveText('登录')
})
