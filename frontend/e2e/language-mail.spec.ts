// Issue 15, Language: emails and the pages shown to end users follow the
// account's language. An account in 简体中文 gets its password-reset and
// confirmation emails in Chinese (subject and body, from the real SMTP sink),
// and the page a link opens speaks Chinese even in a browser set to English
// (the link names the language), the server's field errors included.
import type { APIRequestContext, Browser } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'
import { putGroup, startMailsink, waitForMail, type Mailsink } from './devtools'

async function useSink(api: APIRequestContext): Promise<Mailsink> {
  const sink = await startMailsink()
  await putGroup(api, 'email', { host: sink.smtpHost, port: sink.smtpPort, username: '', password: null, senderName: 'Gatehouse', senderAddress: 'noreply@gatehouse.test', tlsMode: 'none' })
  return sink
}

/** A browser set to English with nothing remembered: where a mail client opens a link. */
async function englishPage(browser: Browser, baseURL: string | undefined) {
  const ctx = await browser.newContext({ baseURL, locale: 'en-US' })
  return { ctx, page: await ctx.newPage() }
}

function linkTo(text: string, path: string): string {
  const link = new RegExp(`(https?://\\S+${path}\\?\\S+)`).exec(text)?.[1]
  expect(link, text).toBeTruthy()
  const url = new URL(link!)
  return url.pathname + url.search
}

test('an account in 简体中文 gets the reset email in Chinese, and its link opens a Chinese page whose server errors are Chinese too', async ({ adminApi, browser, baseURL }) => {
  const sink = await useSink(adminApi)
  const asker = await englishPage(browser, baseURL)
  const opener = await englishPage(browser, baseURL)
  try {
    const tag = uniqueTag('zhr')
    const email = `${tag}@example.com`
    const user = await createUser(adminApi, { username: tag, email, language: 'zh-CN' })
    const vouched = await adminApi.patch(`/api/admin/users/${user.publicId}`, { data: { emailVerified: true } })
    expect(vouched.status(), await vouched.text()).toBe(200)

    await asker.page.goto('/forgot-password')
    await asker.page.getByLabel('Email').fill(email)
    await asker.page.getByRole('button', { name: 'Send reset link' }).click()
    await expect(asker.page.getByText(`If an account uses ${email}`)).toBeVisible()

    const mail = await waitForMail(sink, email, '重置您的密码')
    expect(mail.text).toContain('您好')
    expect(mail.text).toContain('有人请求重置您账号的密码')
    expect(mail.text).toMatch(/\d+ 小时后失效/)
    expect(mail.text).not.toMatch(/Hello|Reset your password|expires/)

    const p = opener.page
    await p.goto(linkTo(mail.text, '/reset-password'))
    await expect(p.locator('html')).toHaveAttribute('lang', 'zh-CN')
    await expect(p.getByText('设置新密码').first()).toBeVisible()
    await expect(p.getByRole('list', { name: '密码规则' })).toBeVisible()
    const password = p.getByLabel('新密码', { exact: true })
    const confirm = p.getByLabel('确认新密码')
    const submit = p.getByRole('button', { name: '设置新密码' })

    // The server refuses these (the page only checks that both fields match).
    await password.fill('short1')
    await confirm.fill('short1')
    await submit.click()
    await expect(p.getByText(/^至少需要 \d+ 个字符。$/)).toBeVisible()

    await password.fill('password123')
    await confirm.fill('password123')
    await submit.click()
    await expect(p.getByText('这是最常用的密码之一，请换一个。')).toBeVisible()
    await expect(p.getByText(/characters|commonly used/)).toHaveCount(0)

    await password.fill('qingshan-lvshui-7731')
    await confirm.fill('qingshan-lvshui-7731')
    await submit.click()
    await expect(p).toHaveURL(/\/login\?reset=done/)
    await expect(p.getByText('密码已修改，请使用新密码登录。')).toBeVisible()
  } finally {
    await asker.ctx.close()
    await opener.ctx.close()
    sink.proc.kill()
  }
})

test('an unconfirmed account in 简体中文: the sign-in page hints in Chinese, the confirmation email is Chinese, and its link confirms in Chinese', async ({ adminApi, browser, baseURL }) => {
  const sink = await useSink(adminApi)
  const visitor = await browser.newContext({ baseURL, locale: 'zh-CN' })
  const opener = await englishPage(browser, baseURL)
  try {
    await putGroup(adminApi, 'registration', { emailRegistrationEnabled: true, requireEmailVerification: true, allowedDomains: [] })
    const tag = uniqueTag('zhv')
    const email = `${tag}@example.com`
    const user = await createUser(adminApi, { username: tag, email, language: 'zh-CN' })
    const pending = await adminApi.post(`/api/admin/users/${user.publicId}/status`, { data: { status: 'pending', reason: 'waits for confirmation' } })
    expect(pending.status(), await pending.text()).toBe(200)

    const v = await visitor.newPage()
    await v.goto('/login')
    await expect(v.getByText('已注册但尚未确认邮箱地址？')).toBeVisible()
    await v.getByRole('link', { name: '重新发送确认链接' }).click()
    await expect(v).toHaveURL(/\/check-email$/)
    await v.getByLabel('邮箱').fill(email)
    await v.getByRole('button', { name: '重新发送链接' }).click()
    await expect(v.getByText('如果该地址有等待确认的账户，新的链接已在路上。')).toBeVisible()

    const mail = await waitForMail(sink, email, '请确认您的邮箱地址')
    expect(mail.text).toContain('您好')
    expect(mail.text).toContain('请确认您的邮箱地址以激活账号')
    expect(mail.text).not.toMatch(/Hello|Confirm your email/)

    const p = opener.page
    await p.goto(linkTo(mail.text, '/verify-email'))
    await expect(p.locator('html')).toHaveAttribute('lang', 'zh-CN')
    await expect(p.getByText(/你的邮箱地址.*已确认。/)).toBeVisible()
  } finally {
    await visitor.close()
    await opener.ctx.close()
    await putGroup(adminApi, 'registration', { emailRegistrationEnabled: false, requireEmailVerification: false })
    sink.proc.kill()
  }
})
