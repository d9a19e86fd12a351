// Moving between console screens without reloading the page, and waiting
// until a screen's data has arrived. A full load (page.goto) parses and
// starts the whole console again; a spec that walks through many screens to
// check each one (axe.spec.ts, phone.spec.ts) goes by the console's own
// router instead, as a person clicking through the menu does.
import { expect, type Page } from '@playwright/test'

/** Goes to path through the console's router (a full load only the first time, or when there is no console yet). */
export async function visit(page: Page, path: string): Promise<void> {
  const routed = await page
    .evaluate(async (to) => {
      const app = (document.querySelector('#app') as { __vue_app__?: { config: { globalProperties: Record<string, unknown> } } } | null)?.__vue_app__
      const router = app?.config.globalProperties.$router as { push: (to: string) => Promise<unknown> } | undefined
      if (!router) return false
      await router.push(to)
      return true
    }, path)
    .catch(() => false)
  if (!routed) await page.goto(path)
}

/** Requests in flight per page (trackRequests). */
const inFlight = new WeakMap<Page, Set<unknown>>()

/** Counts the page's requests in flight from now on (for settled). */
export function trackRequests(page: Page): void {
  const pending = new Set<unknown>()
  inFlight.set(page, pending)
  page.on('request', (r) => pending.add(r))
  page.on('requestfinished', (r) => pending.delete(r))
  page.on('requestfailed', (r) => pending.delete(r))
}

/**
 * Resolves once none of the page's requests is in flight (trackRequests
 * must have been called first): unlike waitForLoadState('networkidle'),
 * which always waits 500 ms more, it goes on as soon as the last answer
 * has arrived.
 */
export async function settled(page: Page): Promise<void> {
  const pending = inFlight.get(page)
  if (!pending) throw new Error('settled: call trackRequests(page) first')
  // Quiet through two animation frames too: an answer that renders a
  // component which asks for more is not taken for the end.
  for (;;) {
    await expect.poll(() => pending.size, { intervals: [20, 50, 100] }).toBe(0)
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
    if (pending.size === 0) return
  }
}
