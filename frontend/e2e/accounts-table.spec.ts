// Issue 15, the Accounts table at 1280×800: with plans (billing mode
// "period") the default columns fit without wrapping a cell's text mid-word
// and without sideways scrolling (a cut-off text ends in an ellipsis and
// keeps its full text in a title), and a status tag keeps AA contrast
// (4.5:1) on a hovered row as well as on a resting one, light and dark
// (axe checks pages as they rest and never hovers).
import type { APIRequestContext, Page } from '@playwright/test'
import { createUser, expect, test, uniqueTag, type User } from './admin-fixtures'
import { installColorMath } from './contrast'

test.use({ viewport: { width: 1280, height: 800 } })
test.setTimeout(180_000)

async function setMode(api: APIRequestContext, mode: 'self' | 'period' | 'usage'): Promise<void> {
  const current = await (await api.get('/api/admin/settings/billing')).json()
  const res = await api.put('/api/admin/settings/billing', { data: { mode, currency: 'USD', version: current.version } })
  expect(res.status(), await res.text()).toBe(200)
}

async function createPlan(api: APIRequestContext, name: string): Promise<number> {
  const res = await api.post('/api/admin/plans', { data: { name, periodDays: 365, priceMinor: 24_000 } })
  expect(res.status(), await res.text()).toBe(201)
  return ((await res.json()) as { id: number }).id
}

async function assignPlan(api: APIRequestContext, user: User, planId: number, expiresAt: string): Promise<void> {
  const res = await api.patch(`/api/admin/users/${user.publicId}`, { data: { planId, subscriptionExpiresAt: expiresAt } })
  expect(res.status(), await res.text()).toBe(200)
}

async function setStatus(api: APIRequestContext, user: User, status: string): Promise<void> {
  const res = await api.post(`/api/admin/users/${user.publicId}/status`, { data: { status, reason: 'table test' } })
  expect(res.status(), await res.text()).toBe(200)
}

test.afterEach(async ({ adminApi }) => {
  await setMode(adminApi, 'self')
})

/**
 * Accounts of this run with realistic long-ish names, emails and plans,
 * one in each status; returns the search term that lists only them.
 */
async function seed(api: APIRequestContext): Promise<string> {
  const tag = uniqueTag('tbl')
  await setMode(api, 'period')
  const business = await createPlan(api, `Business Annual ${tag}`)
  const team = await createPlan(api, `Team Professional ${tag}`)
  const people = [
    { who: 'margarethe', displayName: 'Margarethe van der Berg', email: `margarethe.vanderberg-${tag}@northwind-logistics.example`, status: 'active' },
    { who: 'oluwaseun', displayName: 'Oluwaseun Adeyemi-Okafor', email: `oluwaseun.adeyemi-${tag}@harbourview-clinic.example`, status: 'pending' },
    { who: 'christopher', displayName: 'Christopher Montgomery', email: `c.montgomery-${tag}@example.com`, status: 'suspended' },
    { who: 'anneliese', displayName: 'Anneliese Schwarzenberger', email: `anneliese.schwarzenberger-${tag}@example.org`, status: 'deactivated' },
  ]
  const inOneYear = new Date(Date.now() + 365 * 86_400_000).toISOString()
  for (const [i, p] of people.entries()) {
    const user = await createUser(api, { username: `${tag}-${p.who}`, displayName: p.displayName, email: p.email, timezone: 'America/Argentina/Buenos_Aires' })
    await assignPlan(api, user, i % 2 === 0 ? business : team, inOneYear)
    if (p.status !== 'active') await setStatus(api, user, p.status)
  }
  return tag
}

async function openList(page: Page, q: string): Promise<void> {
  await page.goto(`/admin/users?q=${encodeURIComponent(q)}`)
  await expect(page.getByTestId('user-row')).toHaveCount(4, { timeout: 30_000 }) // the first load, on a busy machine
  await expect(page.getByRole('columnheader', { name: 'Plan' })).toBeVisible()
}

test('at 1280 px with plans, the default columns fit: no cell wraps, nothing scrolls sideways', async ({ adminPage: page, adminApi }) => {
  const q = await seed(adminApi)
  await openList(page, q)

  const found = await page.evaluate(() => {
    const problems: string[] = []
    const rows = [...document.querySelectorAll<HTMLElement>('[data-testid="user-row"]')]
    for (const row of rows) {
      for (const cell of row.querySelectorAll<HTMLElement>('td')) {
        const key = cell.getAttribute('data-col-key') ?? '?'
        // Each piece of text stays on one line (the name cell shows the
        // name and @username on two lines by design: two pieces).
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT)
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const text = n.textContent?.trim() ?? ''
          if (!text) continue
          const range = document.createRange()
          range.selectNodeContents(n)
          const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)))
          if (tops.size > 1) problems.push(`${key}: "${text}" wraps onto ${tops.size} lines`)
        }
        // Text cut off by its box ends in an ellipsis and keeps the full
        // text in a title (or the cell has one).
        for (const el of [cell, ...cell.querySelectorAll<HTMLElement>('*')]) {
          if (el.scrollWidth <= el.clientWidth + 1 || getComputedStyle(el).overflowX === 'visible') continue
          const style = getComputedStyle(el)
          const text = el.textContent?.trim() ?? ''
          if (style.textOverflow !== 'ellipsis') problems.push(`${key}: "${text}" is cut off without an ellipsis`)
          const titled = el.closest('[title]')?.getAttribute('title') ?? ''
          if (!titled.includes(text) && !text.includes(titled || '\u0000')) problems.push(`${key}: "${text}" is cut off and has no title with its full text`)
        }
      }
    }
    const page = document.scrollingElement
    if (page && page.scrollWidth > window.innerWidth) problems.push(`the page scrolls sideways (${page.scrollWidth} > ${window.innerWidth})`)
    for (const el of document.querySelectorAll<HTMLElement>('[data-testid="users-table"] *')) {
      const style = getComputedStyle(el)
      if ((style.overflowX === 'auto' || style.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
        problems.push(`the table scrolls sideways (${el.className}: ${el.scrollWidth} > ${el.clientWidth})`)
      }
    }
    const last = document.querySelector('[data-testid="user-row"] td:last-child')?.getBoundingClientRect()
    if (last && last.right > window.innerWidth) problems.push(`the last column ends at ${Math.round(last.right)} px, off screen`)
    return problems
  })
  expect(found).toEqual([])
})

/** The contrast of each status tag's text with what is behind it, in the page. */
async function tagContrasts(page: Page): Promise<{ label: string; ratio: number; fg: string; bg: string }[]> {
  await installColorMath(page)
  return page.evaluate(() => {
    const { parse, over, background, contrast, hex } = window.__ghColor
    return [...document.querySelectorAll<HTMLElement>('[data-testid="user-row"] .n-tag')].map((tag) => {
      const bg = background(tag)
      const fg = over(parse(getComputedStyle(tag).color), bg)
      const row = tag.closest('[data-testid="user-row"]')?.getAttribute('data-username') ?? ''
      return { label: `${row} ${tag.textContent?.trim()}`, ratio: contrast(fg, bg), fg: hex(fg), bg: hex(bg) }
    })
  })
}

for (const theme of ['light', 'dark'] as const) {
  test(`status tags keep 4.5:1 contrast on resting and hovered rows (${theme})`, async ({ adminPage: page, adminApi }) => {
    const q = await seed(adminApi)
    await page.emulateMedia({ colorScheme: theme })
    await page.addInitScript((t) => localStorage.setItem('gatehouse.theme', t), theme)
    await openList(page, q)
    const low: string[] = []
    const check = (state: string, list: Awaited<ReturnType<typeof tagContrasts>>) => {
      for (const c of list) if (c.ratio < 4.5) low.push(`${state}: ${c.label} ${c.fg} on ${c.bg} = ${c.ratio.toFixed(2)}:1`)
    }
    await page.mouse.move(0, 0)
    const resting = await tagContrasts(page)
    expect(resting.length).toBeGreaterThanOrEqual(8) // a status and a plan tag per row
    check('resting', resting)
    for (const row of await page.getByTestId('user-row').all()) {
      await row.getByTestId('user-status').hover()
      // The hover colour fades in.
      await page.waitForTimeout(400)
      const username = await row.getAttribute('data-username')
      check('hovered', (await tagContrasts(page)).filter((c) => c.label.startsWith(`${username} `)))
    }
    expect(low).toEqual([])
  })
}
