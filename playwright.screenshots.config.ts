import { defineConfig } from '@playwright/test'
import base from './playwright.config'

// `npx playwright test -c playwright.screenshots.config.ts` writes the
// README's screenshots into docs/screenshots/ (not part of the test suite).
export default defineConfig({
  ...base,
  testDir: 'frontend/screenshots',
  globalSetup: undefined,
  reporter: 'list',
  timeout: 300_000,
})
