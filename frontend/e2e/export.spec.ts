import { readFile } from 'node:fs/promises'
import { request as playwrightRequest } from '@playwright/test'
import { createUser, expect, root, startSetUpServer, test, uniqueTag } from './admin-fixtures'

// The Accounts screen's CSV export runs through fetch in a dialog: it shows
// the rows received, saves the file only when it is complete, and says so
// when the server ends the file with its failure line and cuts the
// transfer.

/** Data rows of a CSV file whose cells hold no line breaks. */
function dataLines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '').slice(1)
}

test('a successful export downloads the filtered list, every row', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('ex')
  for (const name of ['a', 'b', 'c', 'd']) {
    await createUser(adminApi, { username: `${tag}-${name}`, role: name === 'd' ? 'admin' : 'user' })
  }
  await page.goto(`/admin/users?q=${tag}&role=user`)
  await expect(page.getByTestId('user-row')).toHaveCount(3)
  const download = page.waitForEvent('download')
  await page.getByTestId('users-export').click()
  const file = await download
  expect(file.suggestedFilename()).toMatch(/^gatehouse-users-.*\.csv$/)
  const text = await readFile((await file.path())!, 'utf8')
  expect(text).not.toContain('#gatehouse-export-incomplete')
  const rows = dataLines(text)
  expect(rows).toHaveLength(3)
  for (const r of rows) expect(r).toContain(`${tag}-`)
  expect(text).not.toContain(`${tag}-d`)
  await expect(page.getByText('Exported 3 accounts')).toBeVisible()
  await expect(page.getByTestId('export-dialog')).toBeHidden()
})

test('a failed export shows the error and saves no file', async ({ page }) => {
  // A server of its own whose exports fail after two rows (test only:
  // GATEHOUSE_TEST_EXPORT_FAIL_AFTER, server/api/export_failure.go).
  const server = await startSetUpServer({ GATEHOUSE_TEST_EXPORT_FAIL_AFTER: '2' })
  try {
    const api = await playwrightRequest.newContext({ baseURL: server.base })
    expect((await api.post('/api/auth/login', { data: { identifier: root.username, password: root.password } })).status()).toBe(200)
    for (const name of ['a', 'b', 'c', 'd']) await createUser(api, { username: `fail-${name}` })
    await api.dispose()

    const login = await page.request.post(`${server.base}/api/auth/login`, { data: { identifier: root.username, password: root.password } })
    expect(login.status(), await login.text()).toBe(200)
    let downloads = 0
    page.on('download', () => downloads++)
    await page.goto(`${server.base}/admin/users`)
    await expect(page.getByTestId('user-row')).toHaveCount(5)
    await page.getByTestId('users-export').click()
    const dialog = page.getByTestId('export-dialog')
    await expect(dialog.getByRole('alert')).toContainText('The export failed; no file was saved')
    // The server sends its failure line, then cuts the connection; a
    // browser may drop the last bytes it had not read when the connection
    // fails, so either message is right (the marker itself is parsed in
    // exportCsv.spec.ts).
    await expect(dialog.getByRole('alert')).toContainText(/stopped after 2 rows \(read_failed\)|cut off after [0-2] rows/)
    await expect(dialog.getByTestId('export-retry')).toBeVisible()
    await dialog.getByTestId('export-close').click()
    await expect(dialog).toBeHidden()
    expect(downloads).toBe(0)
  } finally {
    await server.stop()
  }
})
