// Issue 15, Language: what the server refuses reads in the console's
// language (the API answers codes, the console words them), and the tab
// title follows the language switch.
import { expect, root, test } from './admin-fixtures'

test('a password the server refuses as common is explained in Chinese', async ({ adminPage: page }) => {
  await page.addInitScript(() => localStorage.setItem('gatehouse.locale', 'zh-CN'))
  await page.goto('/account/security')
  await expect(page).toHaveTitle('安全 · Gatehouse')
  await page.getByTestId('password-current').fill(root.password)
  await page.getByTestId('password-new').fill('password123')
  await page.getByTestId('password-confirm').fill('password123')
  await page.getByTestId('password-submit').click()
  await expect(page.getByText('这是最常用的密码之一，请换一个。')).toBeVisible()
  await expect(page.getByText('is one of the most commonly used passwords')).toHaveCount(0)
})

test('the tab title follows the language switch', async ({ page }) => {
  await page.goto('/login')
  await expect(page).toHaveTitle('Sign in · Gatehouse')
  await page.getByTestId('language-switcher').click()
  await page.getByText('简体中文').click()
  await expect(page.getByRole('button', { name: '登录', exact: true })).toBeVisible()
  await expect(page).toHaveTitle('登录 · Gatehouse')
})
