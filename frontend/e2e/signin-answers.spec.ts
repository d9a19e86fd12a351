// Issue 13 item 17 end to end: after the right password a suspended account
// is told to contact an administrator (in English and in Chinese); a wrong
// password on it keeps the one generic answer.
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

const generic = 'The sign-in name or password is incorrect.'

test('a suspended account hears why after the right password, and only then', async ({ adminApi, browser, baseURL }) => {
  const tag = uniqueTag('su')
  const password = 'meadow-copper-4417'
  const user = await createUser(adminApi, { username: tag, password })
  const res = await adminApi.post(`/api/admin/users/${user.publicId}/status`, { data: { status: 'suspended', reason: 'e2e' } })
  expect(res.status(), await res.text()).toBe(200)

  const ctx = await browser.newContext({ baseURL })
  const p = await ctx.newPage()
  await p.goto('/login')
  await p.getByTestId('login-identifier').fill(tag)
  await p.getByTestId('login-password').fill('wrong-password-1')
  await p.getByTestId('login-submit').click()
  await expect(p.getByTestId('login-error')).toHaveText(generic)

  await p.getByTestId('login-password').fill(password)
  await p.getByTestId('login-submit').click()
  await expect(p.getByTestId('login-error')).toContainText('Contact an administrator')
  await expect(p).toHaveURL(/\/login/)

  await p.getByTestId('language-switcher').click()
  await p.getByText('简体中文').click()
  await p.getByTestId('login-password').fill(password)
  await p.getByTestId('login-submit').click()
  await expect(p.getByTestId('login-error')).toContainText('请联系管理员')
  await ctx.close()
})
