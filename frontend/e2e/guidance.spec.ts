// Issue 15, the console telling the administrator in a hurry what the
// server will do before it is done: the sign-in methods tab previews a
// change with the server's own check (PUT ?dryRun=true). A test that
// changes a setting puts it back in `finally`.
import { expect, root, test, uniqueTag } from './admin-fixtures'
import { putGroup, queuePerson, startMockIdP } from './devtools'

test('the sign-in methods tab shows the server’s preview: no refusal beside “saved” when a provider is the administrators’ way in', async ({ adminPage: page, adminApi }) => {
  const idp = await startMockIdP()
  const slug = uniqueTag('pv')
  let providerId = 0
  try {
    await putGroup(adminApi, 'signin', { thirdPartyEnabled: true })
    const ep = (await (await adminApi.post('/api/admin/identity-providers/discover', { data: { issuerUrl: idp.issuer } })).json()) as Record<string, string>
    const created = await adminApi.post('/api/admin/identity-providers', {
      data: {
        slug, name: 'Preview ID', type: 'oidc', clientId: idp.clientId, clientSecret: idp.clientSecret, issuerUrl: ep.issuerUrl,
        authorizationUrl: ep.authorizationUrl, tokenUrl: ep.tokenUrl, userinfoUrl: ep.userinfoUrl, jwksUrl: ep.jwksUrl,
        scopes: ['openid', 'email', 'profile'], loginEnabled: true,
      },
    })
    expect(created.status(), await created.text()).toBe(201)
    providerId = ((await created.json()) as { id: number }).id
    // The super administrator links the provider: it becomes a way in.
    await queuePerson(idp, { sub: `${slug}-root`, username: root.username, email: root.email })
    const link = await page.request.post(`/api/me/identities/${slug}/link`, { data: { password: root.password } })
    expect(link.status(), await link.text()).toBe(200)
    await page.goto(((await link.json()) as { redirectUrl: string }).redirectUrl)
    await expect(page).toHaveURL(new RegExp(`linked=${slug}`))

    await page.goto('/admin/auth/signin')
    const username = page.getByRole('switch', { name: 'Username and password' })
    const email = page.getByRole('switch', { name: 'Email and password' })
    await expect(username).toBeChecked()
    await username.click()
    await email.click()
    // The server counts the change before it is saved: root still has Preview ID.
    await expect(page.getByText('1 administrator can sign in with Preview ID')).toBeVisible()
    await expect(page.getByText('This change will be refused')).toBeHidden()
    await page.getByRole('button', { name: 'Save' }).click()
    await expect(page.getByText('Sign-in methods: settings saved.')).toBeVisible()
    await expect(page.getByText('This change will be refused')).toBeHidden()

    await test.step('in Chinese, a change the server would refuse says so before saving, with the server’s reason', async () => {
      await putGroup(adminApi, 'signin', { usernameEnabled: true, emailEnabled: true })
      await page.evaluate(() => localStorage.setItem('gatehouse.locale', 'zh-CN'))
      await page.reload()
      await page.getByRole('switch', { name: '第三方登录' }).click()
      await page.getByRole('switch', { name: '用户名和密码' }).click()
      await page.getByRole('switch', { name: '邮箱和密码' }).click()
      await expect(page.getByText('此修改将被拒绝')).toBeVisible()
      await page.getByRole('switch', { name: '邮箱和密码' }).click()
      await expect(page.getByText('此修改将被拒绝')).toBeHidden()
    })
  } finally {
    await putGroup(adminApi, 'signin', { usernameEnabled: true, emailEnabled: true, thirdPartyEnabled: false })
    if (providerId) expect((await adminApi.delete(`/api/admin/identity-providers/${providerId}?confirm=true`)).status()).toBe(204)
    idp.proc.kill()
  }
})

test('the password rules stand beside new-password fields before any error, and the sign-in page hints at the confirmation link, in both languages', async ({ adminPage: page, adminApi, browser, baseURL }) => {
  const anon = await browser.newContext({ baseURL })
  try {
    await putGroup(adminApi, 'password-policy', { minLength: 12, blockCommon: true, blockPersonalInfo: false })
    // Verification needs mail settings; nothing is sent in this test.
    await putGroup(adminApi, 'email', { host: 'smtp.invalid', port: 25, username: '', password: null, senderName: 'Gatehouse', senderAddress: 'noreply@gatehouse.test', tlsMode: 'none' })
    await putGroup(adminApi, 'registration', { emailRegistrationEnabled: true, requireEmailVerification: true, allowedDomains: [] })

    await page.goto('/account/security')
    const rules = page.getByRole('list', { name: 'Password rules' })
    await expect(rules).toContainText('From 12 to 128 characters.')
    await expect(rules).toContainText('Not one of the most commonly used passwords.')
    await expect(rules).not.toContainText('username')

    const visitor = await anon.newPage()
    await visitor.goto('/login')
    await expect(visitor.getByText('Registered but not confirmed your email address yet?')).toBeVisible()
    await visitor.getByRole('link', { name: 'Send the confirmation link again' }).click()
    await expect(visitor).toHaveURL(/\/check-email$/)
    await visitor.goto('/register')
    await expect(visitor.getByRole('list', { name: 'Password rules' })).toContainText('From 12 to 128 characters.')

    await visitor.evaluate(() => localStorage.setItem('gatehouse.locale', 'zh-CN'))
    await visitor.goto('/login')
    await expect(visitor.getByText('已注册但尚未确认邮箱地址？')).toBeVisible()
    await visitor.goto('/register')
    await expect(visitor.getByRole('list', { name: '密码规则' })).toContainText('长度为 12 到 128 个字符。')
  } finally {
    await anon.close()
    await putGroup(adminApi, 'registration', { emailRegistrationEnabled: false, requireEmailVerification: false })
    await putGroup(adminApi, 'password-policy', { minLength: 10, blockCommon: true, blockPersonalInfo: true })
  }
})
