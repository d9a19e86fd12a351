// The console's main screens at 1280×800 and 390×844, light theme, English,
// animations disabled, into docs/screenshots/.
import { resolve } from 'node:path'
import { createUser, expect, test } from '../e2e/admin-fixtures'

const out = resolve(import.meta.dirname, '..', '..', 'docs', 'screenshots')
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const

test('screenshots', async ({ browser, baseURL, adminApi }) => {
  for (const [i, name] of ['ada', 'grace', 'linus', 'margaret', 'ken', 'barbara'].entries()) {
    await createUser(adminApi, { username: name, displayName: name[0]!.toUpperCase() + name.slice(1), email: `${name}@example.com`, role: i === 1 ? 'admin' : 'user' })
  }
  const users = (await (await adminApi.get('/api/admin/users?q=ada')).json()) as { items: { publicId: string }[] }
  const ada = users.items[0]!.publicId
  for (const [size, viewport] of Object.entries(sizes)) {
    const context = await browser.newContext({ baseURL, viewport, colorScheme: 'light', reducedMotion: 'reduce' })
    await context.addInitScript(() => {
      localStorage.setItem('gatehouse.locale', 'en')
      localStorage.setItem('gatehouse.theme', 'light')
    })
    const page = await context.newPage()
    const shot = async (file: string) => {
      await page.waitForLoadState('networkidle')
      await page.screenshot({ path: resolve(out, `${file}-${size}.png`), animations: 'disabled', caret: 'hide' })
    }
    await page.goto('/login')
    await expect(page.getByRole('main')).toBeVisible()
    await shot('sign-in')
    const res = await page.request.post('/api/auth/login', { data: { identifier: 'root', password: 'quarry-lantern-5120' } })
    expect(res.status()).toBe(200)
    await page.goto('/admin/users')
    await expect(page.getByTestId('user-row').first()).toBeVisible()
    await shot('accounts')
    await page.goto(`/admin/users/${ada}`)
    await expect(page.getByTestId('user-title')).toBeVisible()
    await shot('account-editor')
    await page.goto('/admin/auth/signin')
    await expect(page.getByTestId('auth-settings')).toBeVisible()
    await shot('sign-in-settings')
    await context.close()
  }
})
