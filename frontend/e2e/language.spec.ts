// Issue 15, Language: what the server refuses reads in the console's
// language (the API answers codes, the console words them), and the tab
// title follows the language switch.
import { createUser, expect, root, test, uniqueTag } from './admin-fixtures'

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

test('a signed-in person’s language choice is saved as the account language and follows them to another browser', async ({ page, adminApi, browser, baseURL }) => {
  test.setTimeout(300_000) // three sign-ins, each hashing a password
  const username = uniqueTag('lang')
  const user = await createUser(adminApi, { username, email: `${username}@example.com`, language: 'en' })
  const password = 'meadow-copper-4417'
  const signIn = async (p: typeof page) => {
    await p.goto('/login')
    await p.getByTestId('login-identifier').fill(username)
    await p.getByTestId('login-password').fill(password)
    await p.getByTestId('login-submit').click()
    // Password hashing is slow on a loaded machine.
    await expect(p).toHaveURL(/\/account\/profile/, { timeout: 60_000 })
  }

  await test.step('switching to 简体中文 while signed in saves it on the account', async () => {
    await signIn(page)
    await page.getByTestId('language-switcher').click()
    await page.getByText('简体中文').click()
    await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN')
    await expect
      .poll(async () => ((await (await adminApi.get(`/api/admin/users/${user.publicId}`)).json()) as { user: { language: string } }).user.language)
      .toBe('zh-CN')
    await page.reload()
    await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN')
    await expect(page.getByTestId('profile-language')).toContainText('简体中文')
  })

  await test.step('signing in in another browser (English, nothing remembered) shows the console in Chinese', async () => {
    const other = await browser.newContext({ baseURL, locale: 'en-US' })
    try {
      const p = await other.newPage()
      await signIn(p)
      await expect(p.locator('html')).toHaveAttribute('lang', 'zh-CN')
      await expect(p.getByTestId('profile-language')).toContainText('简体中文')
    } finally {
      await other.close()
    }
  })

  await test.step('signed out, the switcher only remembers the choice locally', async () => {
    const anon = await browser.newContext({ baseURL, locale: 'en-US' })
    try {
      const p = await anon.newPage()
      let patched = false
      p.on('request', (r) => {
        if (r.method() === 'PATCH') patched = true
      })
      await p.goto('/login')
      await p.getByTestId('language-switcher').click()
      await p.getByText('简体中文').click()
      await expect(p.locator('html')).toHaveAttribute('lang', 'zh-CN')
      expect(await p.evaluate(() => localStorage.getItem('gatehouse.locale'))).toBe('zh-CN')
      expect(patched).toBe(false)
    } finally {
      await anon.close()
    }
  })
})
