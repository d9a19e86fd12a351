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

// Each language's messages load only when the page speaks it (the Chinese
// ones are a chunk of their own, i18n/index.ts): an English page does not
// fetch them, the switch fetches them before it changes the page, and a
// page that opens in Chinese shows Chinese from its first render, never
// English first.
const zhChunk = /\/assets\/messages\.zh-CN-[^/]*\.js$/

test('the Chinese messages load only for a Chinese page, and before its first render', async ({ page, browser, baseURL }) => {
  const fetched: string[] = []
  page.on('request', (r) => fetched.push(new URL(r.url()).pathname))
  await page.goto('/login')
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible()
  expect(fetched.filter((p) => zhChunk.test(p))).toEqual([])
  await page.getByTestId('language-switcher').click()
  await page.getByText('简体中文').click()
  await expect(page.getByRole('button', { name: '登录', exact: true })).toBeVisible()
  expect(fetched.filter((p) => zhChunk.test(p))).toHaveLength(1)

  // Opened in Chinese: the first text the app shows is already Chinese.
  const context = await browser.newContext({ baseURL })
  try {
    const zh = await context.newPage()
    await zh.addInitScript(() => {
      localStorage.setItem('gatehouse.locale', 'zh-CN')
      const w = window as unknown as { __firstText?: string }
      new MutationObserver((_, observer) => {
        const text = document.getElementById('app')?.innerText.trim() ?? ''
        if (text === '') return
        w.__firstText = text
        observer.disconnect()
      }).observe(document, { childList: true, subtree: true, characterData: true })
    })
    await zh.goto('/login')
    await expect(zh.getByRole('button', { name: '登录', exact: true })).toBeVisible()
    const first = await zh.evaluate(() => (window as unknown as { __firstText?: string }).__firstText ?? '')
    expect(first).toContain('登录')
    expect(first).not.toContain('Sign in')
  } finally {
    await context.close()
  }
})
