// Issue 15, the Accounts list at 1280 px: a sortable column header sorts
// the list on the server (a second activation reverses it; the sort is in
// the URL and the header's aria-sort), by mouse and by keyboard, and the
// visible columns are chosen with named checkboxes under "Columns", the
// choice remembered across a reload.
import type { Page } from '@playwright/test'
import { createUser, expect, test, uniqueTag } from './admin-fixtures'

test.use({ viewport: { width: 1280, height: 800 } })

/** The display names of the listed rows, top to bottom. */
async function names(page: Page): Promise<string[]> {
  return page.getByTestId('user-row').getByTestId('user-link').allTextContents()
}

/** Waits for the list answer with this sort (the server sorts, not the page). */
function listed(page: Page, sort: string) {
  return page.waitForResponse((r) => {
    const url = new URL(r.url())
    return url.pathname === '/api/admin/users' && url.searchParams.get('sort') === sort && r.status() === 200
  })
}

test('sortable headers sort on the server and reverse on a second activation; chosen columns are remembered', async ({ adminPage: page, adminApi }) => {
  const tag = uniqueTag('hdr')
  // Created in this order, the default sort (newest first) lists Alpha, Zulu,
  // Mango; two to a page, only a server-side sort by name puts Mango on page
  // one (a page sorted in the browser would show Alpha, Zulu).
  for (const name of ['Mango', 'Zulu', 'Alpha']) {
    await createUser(adminApi, { username: `${tag}-${name.toLowerCase()}`, displayName: `${name} ${tag}` })
  }
  await page.goto(`/admin/users?q=${tag}&perPage=2`)
  await expect(page.getByTestId('user-row')).toHaveCount(2, { timeout: 30_000 })
  expect(await names(page)).toEqual([`Alpha ${tag}`, `Zulu ${tag}`])

  const nameHeader = page.getByRole('columnheader', { name: 'Name' })
  const nameSort = nameHeader.getByRole('button', { name: 'Name' })
  await expect(nameHeader).toHaveAttribute('aria-sort', 'none')

  await test.step('a click on "Name" sorts by name, A to Z, on the server', async () => {
    const answer = listed(page, 'display_name')
    await nameSort.click()
    await answer
    await expect(page).toHaveURL(/[?&]sort=display_name(&|$)/)
    await expect(nameHeader).toHaveAttribute('aria-sort', 'ascending')
    await expect.poll(() => names(page)).toEqual([`Alpha ${tag}`, `Mango ${tag}`])
  })

  await test.step('a second activation (Enter on the focused header) reverses it', async () => {
    const answer = listed(page, '-display_name')
    await nameSort.focus()
    await page.keyboard.press('Enter')
    await answer
    await expect(page).toHaveURL(/[?&]sort=-display_name(&|$)/)
    await expect(nameHeader).toHaveAttribute('aria-sort', 'descending')
    await expect.poll(() => names(page)).toEqual([`Zulu ${tag}`, `Mango ${tag}`])
  })

  await test.step('"Last sign-in" sorts newest first; the name header then shows no sort', async () => {
    const lastHeader = page.getByRole('columnheader', { name: 'Last sign-in' })
    const answer = listed(page, '-last_login')
    await lastHeader.getByRole('button', { name: 'Last sign-in' }).click()
    await answer
    await expect(page).toHaveURL(/[?&]sort=-last_login(&|$)/)
    await expect(lastHeader).toHaveAttribute('aria-sort', 'descending')
    await expect(nameHeader).not.toHaveAttribute('aria-sort', /ascending|descending/)
  })

  await test.step('"Columns" shows a named checkbox per optional column; the choice survives a reload', async () => {
    await expect(page.getByRole('columnheader', { name: 'Time zone' })).toHaveCount(0)
    await expect(page.getByRole('columnheader', { name: 'Email' })).toBeVisible()
    await page.getByRole('button', { name: 'Columns' }).click()
    // The checkboxes follow the button in the tab order.
    await page.keyboard.press('Tab')
    await expect(page.getByRole('checkbox', { name: 'Email' })).toBeFocused()
    const timezone = page.getByRole('checkbox', { name: 'Time zone' })
    const email = page.getByRole('checkbox', { name: 'Email' })
    await expect(timezone).not.toBeChecked()
    await expect(email).toBeChecked()
    await timezone.check()
    await email.uncheck()
    await expect(page.getByRole('columnheader', { name: 'Time zone' })).toBeVisible()
    await expect(page.getByRole('columnheader', { name: 'Email' })).toHaveCount(0)
    await page.keyboard.press('Escape')

    await page.reload()
    await expect(page.getByTestId('user-row')).toHaveCount(2, { timeout: 30_000 })
    await expect(page.getByRole('columnheader', { name: 'Time zone' })).toBeVisible()
    await expect(page.getByRole('columnheader', { name: 'Email' })).toHaveCount(0)
    await page.getByRole('button', { name: 'Columns' }).click()
    await expect(page.getByRole('checkbox', { name: 'Time zone' })).toBeChecked()
    await expect(page.getByRole('checkbox', { name: 'Email' })).not.toBeChecked()
    // The sort stays in the URL across the reload.
    await expect(page.getByRole('columnheader', { name: 'Last sign-in' })).toHaveAttribute('aria-sort', 'descending')
  })
})
