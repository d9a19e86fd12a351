import { defineConfig } from '@playwright/test'
import base from './playwright.config'

// `npx playwright test -c playwright.screenshots.config.ts` writes the
// README's screenshots into docs/screenshots/ (not part of the test suite).
export default defineConfig({
  ...base,
  testDir: 'frontend/screenshots',
  globalSetup: undefined,
  reporter: 'list',
  timeout: 600_000,
  // A page on a machine busy with other work can take longer than the
  // suite's 10 s to show: the shots wait for it rather than fail.
  expect: { timeout: 60_000 },
  outputDir: 'test-results-screenshots',
})
