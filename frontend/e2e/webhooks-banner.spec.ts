import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { expect, test, uniqueTag } from './admin-fixtures'

// An endpoint that kept failing is disabled, and the super administrators
// are told on every admin page, with a link to Webhooks (issue 20). A day
// of failures cannot pass in a browser test: the endpoint's row is given
// the state the sender leaves it in (disabled_reason 'failing', as
// TestWebhooks_FailingReceiverRetriedThenDisabled drives it in Go) with the
// sqlite3 shell on the server's database; the rest is the real server.

const copy = {
  en: { banner: 'A webhook endpoint was disabled after failing for a day', link: 'Open Webhooks', title: 'Webhooks' },
  'zh-CN': { banner: '个 Webhook 端点因持续失败一天已停用', link: '打开 Webhook 页面', title: 'Webhook' },
} as const

function markFailing(dataDir: string, id: string): void {
  // Public IDs are base64url (letters, digits, '_' and '-'); anything else
  // is refused rather than quietly dropped, and the update must hit one row.
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`unexpected endpoint id ${id}`)
  const changed = execFileSync('sqlite3', [
    join(dataDir, 'gatehouse.db'),
    '.timeout 5000',
    `UPDATE webhook_endpoints SET enabled = 0, disabled_reason = 'failing', failures = 12, failing_since = '2026-01-01 00:00:00+00:00' WHERE public_id = '${id}'; SELECT changes();`,
  ]).toString().trim()
  if (changed !== '1') throw new Error(`marking ${id} failing changed ${changed} rows`)
}

for (const locale of ['en', 'zh-CN'] as const) {
  test(`webhooks: a failing endpoint is announced on every admin page to super administrators (${locale})`, async ({ adminPage: page, adminApi, ownServer }) => {
    test.setTimeout(120_000)
    const c = copy[locale]
    await page.addInitScript((l) => localStorage.setItem('gatehouse.locale', l), locale)
    const url = `https://127.0.0.1:1/${uniqueTag('failing')}`
    const res = await adminApi.post('/api/admin/webhooks', { data: { url, events: ['account.created'] } })
    expect(res.status(), await res.text()).toBe(201)
    const { endpoint } = (await res.json()) as { endpoint: { id: string } }
    try {
      markFailing(ownServer.dataDir, endpoint.id)

      await page.goto('/admin/users')
      const banner = page.getByTestId('layout-webhooks-failing')
      await expect(banner).toBeVisible({ timeout: 30_000 })
      await expect(banner).toHaveAttribute('role', 'alert')
      await expect(banner).toContainText(c.banner)
      await expect(banner).toContainText(url)
      await page.goto('/admin/audit')
      await expect(banner).toContainText(url)
      await banner.getByRole('link', { name: c.link }).click()
      await expect(page).toHaveURL(/\/admin\/webhooks$/)
      await expect(page.getByRole('heading', { name: c.title, level: 1 })).toBeVisible()
      // The Webhooks page shows its own banner, not a second one.
      await expect(page.getByTestId('webhooks-failing')).toContainText(url)
      await expect(banner).toBeHidden()

      // Enabled again: the banner goes.
      const ok = await adminApi.patch(`/api/admin/webhooks/${endpoint.id}`, { data: { enabled: true } })
      expect(ok.status(), await ok.text()).toBe(200)
      await page.goto('/admin/users')
      await expect(page.getByTestId('admin-layout')).toBeVisible()
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible()
      await expect(banner).toHaveCount(0)
    } finally {
      await adminApi.delete(`/api/admin/webhooks/${endpoint.id}`)
    }
  })
}
