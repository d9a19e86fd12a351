import { defineConfig } from '@playwright/test'

// Browser tests drive the real binary (bin/gatehouse, built by `make build`):
// frontend/e2e/global-setup.ts starts it on a free port with a fresh data dir.
export default defineConfig({
  testDir: 'frontend/e2e',
  outputDir: 'test-results',
  globalSetup: './frontend/e2e/global-setup.ts',
  // Two workers, each with its own servers: a spec file starts the servers
  // it needs (admin-fixtures.ts gives each worker its own, set up), and
  // console.spec.ts alone uses the one from global-setup.ts. Files run whole
  // on one worker, in order; axe.spec.ts spreads its combinations over both.
  workers: Number(process.env.GATEHOUSE_E2E_WORKERS ?? 2),
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // The budget of one whole test, steps and fixtures together (each expect
  // still waits at most 10 s). 60 s was too tight for the longer flows on
  // a loaded 2-core CI machine: providers.spec.ts:12 ran every step
  // correctly and ran out of time at 62 s (51 s in the run before);
  // console.spec.ts:21 took 50 s and accounts.spec.ts:12 46 s. The tests
  // that start servers of their own set more (test.setTimeout).
  timeout: 120_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    browserName: 'chromium',
    reducedMotion: 'reduce',
    locale: 'en-US',
    timezoneId: 'UTC',
    // A failed test keeps a trace of DOM snapshots, network and console
    // (with the screenshot below), but no screencast: the screencast's
    // frames cost every test, passing or not, most of the trace's price
    // (accounts.spec.ts, one worker, process CPU user + system at load
    // 36-50: 40 s without a trace, 46 s with snapshots only, 73 s with
    // the screencast too, one test of that run timing out at 120 s;
    // BENCHMARKS.md, "CI time, session 11").
    trace: { mode: 'retain-on-failure', screenshots: false },
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
})
