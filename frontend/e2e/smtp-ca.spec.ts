import { readFileSync } from 'node:fs'
import { expect, test, uniqueTag } from './admin-fixtures'
import { putGroup, startMailsink, waitForMail, type Mailsink } from './devtools'

// Email settings against a real mail server whose certificate comes from a
// private certificate authority (mailsink -starttls-ca): without the CA the
// console's test email names the untrusted certificate; with the CA's
// certificate pasted into the settings and saved, mail goes through.

test('a mail server with a private CA: the untrusted certificate is named, and pasting its CA in the email settings lets mail through', async ({
  adminPage: page,
  adminApi,
}, info) => {
  const caFile = info.outputPath('mailsink-ca.pem')
  let sink: Mailsink | undefined
  try {
    sink = await startMailsink({ starttlsCA: caFile })
    const ca = readFileSync(caFile, 'utf8')
    expect(ca).toContain('-----BEGIN CERTIFICATE-----')
    await putGroup(adminApi, 'email', {
      host: sink.smtpHost,
      port: sink.smtpPort,
      username: '',
      password: null,
      senderName: 'Gatehouse',
      senderAddress: 'noreply@gatehouse.test',
      tlsMode: 'starttls',
      caCertificate: '',
    })
    const to = `${uniqueTag('ca')}@example.com`
    await page.goto('/admin/auth/email')
    await expect(page.getByTestId('auth-settings')).toBeVisible()

    await test.step('without the CA, the test email fails and says the certificate is not trusted', async () => {
      await page.getByLabel('Recipient address').fill(to)
      await page.getByRole('button', { name: 'Send test email' }).click()
      await expect(page.getByTestId('email-test-error')).toContainText('certificate is not trusted')
    })

    await test.step('with the CA pasted and saved, the test email arrives', async () => {
      await page.getByLabel('CA certificate (optional)').fill(ca)
      await page.getByRole('button', { name: 'Save' }).click()
      await expect.poll(async () => ((await (await adminApi.get('/api/admin/settings/email')).json()) as { caCertificate: string }).caCertificate).toBe(ca)
      await page.getByRole('button', { name: 'Send test email' }).click()
      await expect(page.getByTestId('email-test-sent')).toContainText(to)
      await waitForMail(sink!, to, '')
    })
  } finally {
    sink?.proc.kill()
  }
})
