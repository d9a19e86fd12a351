// Tests import `test` and `expect` from here: baseURL points at the server
// that global-setup.ts started, and an uncaught error in the page fails the test.
import { test as base, expect } from '@playwright/test'

export const test = base.extend<{ setupToken: string; failOnPageErrors: void }>({
  baseURL: async ({}, use) => {
    const url = process.env.GATEHOUSE_E2E_URL
    if (!url) throw new Error('GATEHOUSE_E2E_URL is not set: global-setup.ts did not run')
    await use(url)
  },
  setupToken: async ({}, use) => {
    await use(process.env.GATEHOUSE_E2E_SETUP_TOKEN ?? '')
  },
  failOnPageErrors: [
    async ({ page }, use) => {
      const errors: string[] = []
      page.on('pageerror', (err) => errors.push(err.stack ?? err.message))
      await use()
      expect(errors, 'uncaught errors in the page').toEqual([])
    },
    { auto: true },
  ],
})

export { expect }
