import type { APIRequestContext } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'
import { putGroup, startMailsink, waitForMail, type Mailsink } from './devtools'

// The mail outbox on Integrations, against the real binary and a real SMTP
// server (mailsink refuses "bounce-" recipients with a 550).

function pointAt(api: APIRequestContext, host: string, port: number) {
  return putGroup(api, 'email', { host, port, username: '', password: null, senderName: 'Gatehouse', senderAddress: 'noreply@gatehouse.test', tlsMode: 'none' })
}

async function forgot(api: APIRequestContext, email: string): Promise<void> {
  const res = await api.post('/api/auth/forgot-password', { data: { email } })
  expect(res.status()).toBe(202)
}

test('the outbox lists a refused email with its error, and a super administrator retries a waiting one', async ({ adminPage: page, adminApi }) => {
  let sink: Mailsink | undefined
  try {
    sink = await startMailsink()
    const bounce = `bounce-${uniqueTag('ob')}@example.com`
    const later = `${uniqueTag('ob')}@example.com`

    await test.step('an email the server refuses for good is failed, with its error', async () => {
      await pointAt(adminApi, sink!.smtpHost, sink!.smtpPort)
      await createUser(adminApi, { username: uniqueTag('bounce'), email: bounce })
      await forgot(adminApi, bounce)
      await page.goto('/admin/integrations')
      await expect(page.getByRole('heading', { name: 'Integrations' })).toBeVisible()
      const row = page.getByTestId('outbox-row').filter({ hasText: bounce })
      await expect(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click()
        await expect(row).toHaveAttribute('data-status', 'failed', { timeout: 1000 })
      }).toPass({ timeout: 15_000 })
      await expect(row.getByTestId('outbox-error')).toHaveText('The mail server refused the message or recipient.')
      await expect(row).toContainText('Failed')
    })

    await test.step('with the server unreachable, an email waits with its error', async () => {
      await pointAt(adminApi, '127.0.0.1', 1)
      await createUser(adminApi, { username: uniqueTag('later'), email: later })
      await forgot(adminApi, later)
      const row = page.getByTestId('outbox-row').filter({ hasText: later })
      await expect(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click()
        await expect(row.getByTestId('outbox-error')).toHaveText('The mail server could not be reached.', { timeout: 1000 })
      }).toPass({ timeout: 15_000 })
      await expect(row).toHaveAttribute('data-status', 'queued')
    })

    await test.step('once the server is back, Retry sends it at once', async () => {
      await pointAt(adminApi, sink!.smtpHost, sink!.smtpPort)
      await page.getByRole('button', { name: `Retry ${later}` }).click()
      await expect(page.getByText('The email will be sent again now.')).toBeVisible()
      const mail = await waitForMail(sink!, later, 'Reset')
      expect(mail.text).toContain('/reset-password?token=')
      const row = page.getByTestId('outbox-row').filter({ hasText: later })
      await expect(async () => {
        await page.getByRole('button', { name: 'Refresh' }).click()
        await expect(row).toHaveAttribute('data-status', 'sent', { timeout: 1000 })
      }).toPass({ timeout: 15_000 })
    })

    await test.step('the Status filter shows only failed emails', async () => {
      await page.getByTestId('outbox-status').click()
      await page.locator('.n-base-select-option', { hasText: 'Failed' }).first().click()
      await expect(page.getByTestId('outbox-row').filter({ hasText: bounce })).toBeVisible()
      await expect(page.getByTestId('outbox-row').filter({ hasText: later })).toHaveCount(0)
    })
  } finally {
    sink?.proc.kill()
  }
})

test('Retry of a failed email whose link a newer one replaced is refused, and the row shows why', async ({ adminPage: page, adminApi }) => {
  let sink: Mailsink | undefined
  try {
    sink = await startMailsink()
    const bounce = `bounce-${uniqueTag('sup')}@example.com`
    await pointAt(adminApi, sink.smtpHost, sink.smtpPort)
    await createUser(adminApi, { username: uniqueTag('sup'), email: bounce })
    await forgot(adminApi, bounce)
    await page.goto('/admin/integrations')
    const row = page.getByTestId('outbox-row').filter({ hasText: bounce })
    await expect(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click()
      await expect(row).toHaveAttribute('data-status', 'failed', { timeout: 1000 })
    }).toPass({ timeout: 15_000 })
    // The person asks again: a newer link voids the first, whose row the
    // page still shows as failed.
    await forgot(adminApi, bounce)
    await page.getByRole('button', { name: `Retry ${bounce}` }).click()
    await expect(page.getByText('The link in this email no longer works: a newer link was sent since, or the link was used.', { exact: false })).toBeVisible()
    await expect(page.getByTestId('outbox-row').filter({ hasText: 'A newer link was sent instead, or the link was used.' })).toHaveAttribute('data-status', 'discarded')
  } finally {
    sink?.proc.kill()
  }
})
