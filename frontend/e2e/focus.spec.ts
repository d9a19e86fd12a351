// Issue 15, "focus is clearly visible" (WCAG 2.4.7, and the contrast part of
// 2.4.13 Focus Appearance): walking with Tab through the header, the side
// menu, the Accounts list (a row's checkbox) and a form's fields and
// buttons, every focused control shows an indicator (an outline or a
// box-shadow, on the control or the box around it) of at least 3:1 against
// what is behind it, in both themes. axe has no rule for this.
import type { Page } from '@playwright/test'
import { expect, test } from './admin-fixtures'
import { installColorMath } from './contrast'

test.use({ viewport: { width: 1280, height: 800 } })

interface Stop {
  what: string
  region: 'header' | 'menu' | 'row checkbox' | 'field' | 'button' | 'other'
  ratio: number
  indicator: string
}

/** Describes the focused element and measures its focus indicator. */
async function focusedStop(page: Page): Promise<Stop | null> {
  await installColorMath(page)
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null
    if (!el || el === document.body) return null
    const { parse, over, background, contrast } = window.__ghColor
    // The indicator may sit on the control, on the box naive-ui draws
    // around it (an input's wrapper, a menu item), or on that box's border
    // layer: the control, three ancestors, and the border layers inside
    // the nearest naive-ui control.
    const control = el.closest('.n-input, .n-base-selection, .n-input-number, .n-checkbox, .n-switch, .n-menu-item-content, .n-button')
    const candidates = new Set<Element>([el])
    for (let x = el.parentElement, i = 0; x && i < 3; x = x.parentElement, i++) candidates.add(x)
    if (control) {
      candidates.add(control)
      for (const b of control.querySelectorAll('[class*="state-border"], .n-checkbox-box__border')) candidates.add(b)
    }
    let best = 0
    let indicator = 'none'
    for (const c of candidates) {
      const cs = getComputedStyle(c)
      // What surrounds the box: the background of its parent.
      const bg = background(c.parentElement ?? c)
      if (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1) {
        const ratio = contrast(over(parse(cs.outlineColor), bg), bg)
        if (ratio > best) [best, indicator] = [ratio, `outline ${cs.outlineWidth} ${cs.outlineColor} on ${c.className || c.tagName}`]
      }
      if (cs.boxShadow && cs.boxShadow !== 'none') {
        // Each shadow's colour; one that spreads or blurs at least 1 px.
        for (const m of cs.boxShadow.matchAll(/rgba?\([^)]+\)([^,]*)/g)) {
          const sizes = (m[1] ?? '').trim().split(/\s+/).map((v) => parseFloat(v)).filter((n) => !Number.isNaN(n))
          if (!sizes.slice(2).some((n) => n >= 1) && !sizes.slice(0, 2).some((n) => Math.abs(n) >= 1)) continue
          const color = parse(m[0].slice(0, m[0].indexOf(')') + 1))
          const ratio = contrast(over(color, bg), bg)
          if (ratio > best) [best, indicator] = [ratio, `box-shadow ${m[0].trim()} on ${c.className || c.tagName}`]
        }
      }
    }
    const name = (el.getAttribute('aria-label') ?? el.textContent ?? el.getAttribute('placeholder') ?? '').trim().slice(0, 40)
    const role = el.getAttribute('role') ?? el.tagName.toLowerCase()
    const region: Stop['region'] = el.closest('header')
      ? 'header'
      : el.closest('nav')
        ? 'menu'
        : role === 'checkbox' && el.closest('[data-testid="user-row"]')
          ? 'row checkbox'
          : el.matches('input, textarea, [role="combobox"]') || el.closest('.n-base-selection')
            ? 'field'
            : el.matches('button, [role="button"]')
              ? 'button'
              : 'other'
    return { what: `${role} "${name}"`, region, ratio: Math.round(best * 100) / 100, indicator }
  })
}

/** Presses Tab up to `max` times, measuring each stop, until `until` says stop. */
async function walk(page: Page, max: number, until: (s: Stop) => boolean): Promise<Stop[]> {
  const stops: Stop[] = []
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab')
    const s = await focusedStop(page)
    if (!s) continue
    stops.push(s)
    if (until(s)) break
  }
  return stops
}

for (const theme of ['light', 'dark'] as const) {
  test(`keyboard focus is clearly visible: header, side menu, a row checkbox, form fields and buttons (${theme})`, async ({ adminPage: page }) => {
    await page.emulateMedia({ colorScheme: theme, reducedMotion: 'reduce' })
    await page.addInitScript((t) => localStorage.setItem('gatehouse.theme', t), theme)
    await page.goto('/admin/users')
    await expect(page.getByTestId('user-row').first()).toBeVisible({ timeout: 30_000 })
    await expect(page.locator('html')).toHaveAttribute('data-theme', theme)

    // From the top of the page to the first row's checkbox: the header's
    // controls, the menu, the list's buttons and filters.
    await page.locator('body').focus()
    const list = await walk(page, 80, (s) => s.region === 'row checkbox')
    // A form: the profile's fields and its Save button.
    await page.goto('/account/profile')
    await expect(page.getByRole('button', { name: 'Save' }).first()).toBeVisible()
    await page.locator('body').focus()
    const form = await walk(page, 40, (s) => s.region === 'button' && /Save/.test(s.what))

    const stops = [...list, ...form]
    const regions = new Set(stops.map((s) => s.region))
    for (const r of ['header', 'menu', 'row checkbox', 'field', 'button'] as const) expect(regions, `Tab reached no ${r}`).toContain(r)
    const faint = stops.filter((s) => s.ratio < 3).map((s) => `${s.region}: ${s.what} -> ${s.indicator} (${s.ratio}:1)`)
    expect(faint, 'focus indicators under 3:1').toEqual([])
  })
}
