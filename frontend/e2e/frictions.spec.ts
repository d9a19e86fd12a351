// Issue 15, the small frictions of the desktop console: a changed form asks
// before the page is left, an error goes away once its value is edited, and
// a toast says what happened.
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

test('a changed form asks before the page is left, and an error clears once the value is edited', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('fr')
  const pat = await createUser(adminApi, { username: `${tag}-pat`, email: `${tag}-pat@example.com` })
  await page.goto(`/admin/users/${pat.publicId}`)
  const email = page.getByTestId('user-email')
  await expect(email).toHaveValue(`${tag}-pat@example.com`, { timeout: 30_000 })

  await test.step('a refused value shows its error, which goes away on the next keystroke', async () => {
    // The browser lets "pat@localhost" through; the server wants a dot in the domain.
    await email.fill('pat@localhost')
    await page.getByTestId('user-profile-save').click()
    const error = page.getByText('Enter an email address like name@example.com.')
    await expect(error).toBeVisible()
    await email.press('End')
    await email.pressSequentially('.example')
    await expect(error).toBeHidden()
  })

  await test.step('the verified switch is part of the form: the card says the change is not saved yet', async () => {
    await email.fill(`${tag}-pat@example.com`)
    await expect(page.getByTestId('user-profile-unsaved')).toBeHidden()
    await page.getByTestId('user-email-verified').click()
    await expect(page.getByTestId('user-profile-unsaved')).toHaveText('Unsaved changes')
  })

  await test.step('leaving asks first; staying keeps the edits', async () => {
    const asked: string[] = []
    page.once('dialog', (d) => {
      asked.push(d.message())
      void d.dismiss()
    })
    await page.getByTestId('nav-accounts').click()
    await expect.poll(() => asked).toEqual(['You have unsaved changes. Leave this page and discard them?'])
    await expect(page).toHaveURL(new RegExp(`/admin/users/${pat.publicId}$`))
    page.once('dialog', (d) => void d.accept())
    await page.getByTestId('nav-accounts').click()
    await expect(page).toHaveURL(/\/admin\/users$/)
  })
})

test('the toast of an action says what happened to whom', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('ts')
  const sam = await createUser(adminApi, { username: `${tag}-sam` })
  await page.goto(`/admin/users/${sam.publicId}`)
  await page.getByTestId('user-status-select').click()
  // naive-ui's options carry no role yet (the accessibility work names them).
  await page.locator('.n-base-select-option', { hasText: /^Suspended$/ }).click()
  await page.getByTestId('user-status-change').click()
  await page.getByTestId('status-dialog-confirm').click()
  await expect(page.getByText(`Suspended ${tag}-sam.`)).toBeVisible()
})
