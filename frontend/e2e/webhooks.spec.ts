import { createUser, expect, test, uniqueTag } from './admin-fixtures'

// The Webhooks screen against the real binary: add an endpoint, see its
// secret once, read the delivery log (the receiver cannot be reached, so
// the event waits with its error) and resend; in English and Chinese.

const copy = {
  en: {
    title: 'Webhooks',
    add: 'Add endpoint',
    url: 'Endpoint URL',
    event: 'Account created',
    save: 'Save',
    secret: 'Signing secret',
    secretField: 'Secret',
    done: 'Done',
    log: 'Delivery log',
    refresh: 'Refresh',
    refused: 'The receiver refused the connection.',
    resend: 'Resend',
    resent: 'The event will be sent again.',
    badUrl: /Enter an https URL|Enter an absolute https URL/,
  },
  'zh-CN': {
    title: 'Webhook',
    add: '添加端点',
    url: '端点 URL',
    event: '账户已创建',
    save: '保存',
    secret: '签名密钥',
    secretField: '密钥',
    done: '完成',
    log: '投递日志',
    refresh: '刷新',
    refused: '接收方拒绝了连接。',
    resend: '重新发送',
    resent: '该事件将重新发送。',
    badUrl: /请输入 https 地址|请输入完整的 https 地址/,
  },
} as const

for (const locale of ['en', 'zh-CN'] as const) {
  test(`webhooks: create, secret shown once, delivery log, resend (${locale})`, async ({ adminPage: page, adminApi }) => {
    const c = copy[locale]
    await page.addInitScript((l) => localStorage.setItem('gatehouse.locale', l), locale)
    // Nothing listens on port 1: every attempt fails, the connection refused
    // (worded from the delivery's reason code in the console's language).
    const url = `https://127.0.0.1:1/${uniqueTag('hook')}`
    await page.goto('/admin/webhooks')
    await expect(page.getByRole('heading', { name: c.title, level: 1 })).toBeVisible()

    await page.getByRole('button', { name: c.add }).click()
    const form = page.getByRole('dialog')
    // A refused URL: the field says why in the console's language, not
    // the server's English ("must be ..."), and the words go once the
    // value changes.
    await form.getByLabel(c.url).fill('ftp://hooks.example.com/in')
    await form.getByRole('checkbox', { name: c.event }).check()
    await form.getByRole('button', { name: c.save }).click()
    await expect(form.getByText(c.badUrl)).toBeVisible()
    await expect(form).not.toContainText('must be')
    await form.getByLabel(c.url).fill(url)
    await expect(form.getByText(c.badUrl)).toHaveCount(0)
    await form.getByRole('checkbox', { name: c.event }).uncheck()
    await form.getByRole('checkbox', { name: c.event }).check()
    await form.getByRole('button', { name: c.save }).click()

    const secretDialog = page.getByRole('dialog', { name: c.secret })
    await expect(secretDialog).toBeVisible()
    const secret = await secretDialog.getByLabel(c.secretField).inputValue()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    await secretDialog.getByRole('button', { name: c.done }).click()
    await expect(secretDialog).toBeHidden()
    await expect(page.getByTestId('webhooks-table')).toContainText(url)
    expect(await page.content()).not.toContain(secret.slice(6))

    await createUser(adminApi, { username: uniqueTag('wh'), email: `${uniqueTag('wh')}@example.com` })
    await page.getByRole('button', { name: `${c.log} ${url}` }).click()
    const log = page.getByTestId('webhook-log')
    await expect(async () => {
      await log.getByRole('button', { name: c.refresh }).click()
      await expect(log).toContainText(c.refused, { timeout: 1000 })
    }).toPass({ timeout: 20_000 })
    await expect(log).toContainText(c.event)
    await log.getByRole('button', { name: new RegExp(`^${c.resend} msg_`) }).first().click()
    await expect(page.getByText(c.resent)).toBeVisible()
    await expect(log.locator('tbody tr')).toHaveCount(2)
  })
}
