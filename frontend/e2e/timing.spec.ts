import type { Browser, BrowserContext } from '@playwright/test'
import { expect, root, test } from './admin-fixtures'

// How long the sign-in page and the Accounts screen take to become usable
// in Chromium against the real binary on localhost. Reported (in the test
// output and as annotations), not asserted: timings are for BENCHMARKS.md,
// never a pass/fail condition.
//
// Each page is loaded `runs` times, each time in a fresh browser context
// (nothing cached: the time includes fetching and compiling the console's
// JavaScript). The time is taken inside the page: performance.now() (ms
// since the navigation started) at the first animation frame in which the
// page is usable. Waiting for it from the test with expect() would add
// Playwright's polling (its retries back off to 500 ms apart) to the time,
// and recording a trace would add the snapshotting's cost, so this spec
// turns tracing off.

// One load per page in the test suite (it checks that both pages become
// usable); scripts/bench-console.sh asks for five (TIMING_RUNS).
const runs = Number(process.env.TIMING_RUNS ?? 1)

test.use({ trace: 'off' })

/** Which page, and what "usable" means there (checked once per frame). */
type Ready = 'sign-in' | 'accounts'

/**
 * CPU seconds used so far by Chromium's renderer processes (all threads:
 * parsing, compiling, running and rendering the page). Unlike the time to
 * usable, the CPU a load costs hardly depends on what else the machine is
 * running, so it compares builds on a busy machine.
 */
async function rendererCpu(context: BrowserContext): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  const browser = context.browser()
  if (!browser) return out
  const cdp = await browser.newBrowserCDPSession()
  try {
    const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { id: number; type: string; cpuTime: number }[] }
    for (const p of processInfo) if (p.type === 'renderer') out.set(p.id, p.cpuTime)
  } finally {
    await cdp.detach()
  }
  return out
}

/** CPU seconds the renderers used between two readings (processes that ended meanwhile are left out). */
function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0
  for (const [id, t] of after) sum += t - (before.get(id) ?? 0)
  return sum
}

/** One load: ms to usable, the renderer CPU it took, and the script files it fetched by then (count, decoded bytes). */
type Sample = { ms: number; cpuMs: number; scripts: number; scriptBytes: number }

async function timeToReady(context: BrowserContext, path: string, ready: Ready, latencyMs: number): Promise<Sample> {
  await context.addInitScript((which: Ready) => {
    const w = window as unknown as { __gatehouseReady?: number }
    const usable = (): boolean => {
      if (which === 'accounts') return document.querySelector('[data-testid="user-row"]') !== null
      const submit = document.querySelector<HTMLButtonElement>('[data-testid="login-submit"]')
      const field = document.querySelector<HTMLInputElement>('[data-testid="login-identifier"]')
      return !!submit && !submit.disabled && !!field && !field.disabled && !field.readOnly
    }
    const check = (): void => {
      if (usable()) w.__gatehouseReady = performance.now()
      else requestAnimationFrame(check)
    }
    requestAnimationFrame(check)
  }, ready)
  const page = await context.newPage()
  const cdp = await context.newCDPSession(page)
  if (latencyMs > 0) {
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: latencyMs, downloadThroughput: -1, uploadThroughput: -1 })
  }
  const cpuBefore = await rendererCpu(context)
  await page.goto(path)
  await page.waitForFunction(() => (window as { __gatehouseReady?: number }).__gatehouseReady !== undefined, null, {
    polling: 'raf',
  })
  const cpuMs = cpuBetween(cpuBefore, await rendererCpu(context)) * 1000
  if (ready === 'sign-in') {
    // Usable means it takes typing.
    await page.getByTestId('login-identifier').fill('probe')
    await expect(page.getByTestId('login-identifier')).toHaveValue('probe')
  }
  const { ms, scripts, scriptBytes } = await page.evaluate(() => {
    const js = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((e) => new URL(e.name).pathname.endsWith('.js'))
    return {
      ms: (window as { __gatehouseReady?: number }).__gatehouseReady ?? -1,
      scripts: js.length,
      scriptBytes: js.reduce((sum, e) => sum + e.decodedBodySize, 0),
    }
  })
  return { ms, cpuMs, scripts, scriptBytes }
}

async function measure(browser: Browser, baseURL: string | undefined, path: string, ready: Ready, signIn: boolean, latencyMs = 0) {
  const times: number[] = []
  const cpu: number[] = []
  let scripts = 0
  let scriptBytes = 0
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ baseURL })
    try {
      if (signIn) {
        const res = await context.request.post('/api/auth/login', { data: { identifier: root.username, password: root.password } })
        expect(res.status()).toBe(200)
      }
      const sample = await timeToReady(context, path, ready, latencyMs)
      times.push(sample.ms)
      cpu.push(sample.cpuMs)
      scripts = Math.max(scripts, sample.scripts)
      scriptBytes = Math.max(scriptBytes, sample.scriptBytes)
    } finally {
      await context.close()
    }
  }
  const sorted = [...times].sort((a, b) => a - b)
  const cpuSorted = [...cpu].sort((a, b) => a - b)
  return {
    median: sorted[Math.floor(sorted.length / 2)] ?? -1,
    min: sorted[0] ?? -1,
    max: sorted[sorted.length - 1] ?? -1,
    times,
    cpuMedian: cpuSorted[Math.floor(cpuSorted.length / 2)] ?? -1,
    scripts,
    scriptBytes,
  }
}

function report(label: string, r: Awaited<ReturnType<typeof measure>>): void {
  const ms = (n: number) => Math.round(n).toString()
  const text = `median ${ms(r.median)} ms (${ms(r.min)}–${ms(r.max)}; runs ${r.times.map(ms).join(', ')}); renderer CPU ${ms(r.cpuMedian)} ms (median); ${r.scripts} script files, ${Math.round(r.scriptBytes / 1024)} KiB`
  test.info().annotations.push({ type: `${label} (ms)`, description: text })
  console.log(`time to interactive, ${label}: ${text}`)
}

test('time to interactive: sign-in page and Accounts screen', async ({ browser, baseURL, adminApi }) => {
  test.setTimeout(60_000 + runs * 60_000)
  // The Accounts screen needs accounts to show.
  expect((await adminApi.get('/api/admin/users')).status()).toBe(200)

  const signIn = await measure(browser, baseURL, '/login', 'sign-in', false)
  const accounts = await measure(browser, baseURL, '/admin/users', 'accounts', true)
  report('sign-in page interactive', signIn)
  report('Accounts screen with rows', accounts)
  // Optional: the same with a round trip added to every request (Chromium's
  // network emulation), as from a browser far from the server.
  const rtt = Number(process.env.TIMING_RTT_MS ?? 0)
  if (rtt > 0) {
    report(`sign-in page interactive, ${rtt} ms round trip`, await measure(browser, baseURL, '/login', 'sign-in', false, rtt))
    report(`Accounts screen with rows, ${rtt} ms round trip`, await measure(browser, baseURL, '/admin/users', 'accounts', true, rtt))
  }
  expect(signIn.min).toBeGreaterThan(0)
  expect(accounts.min).toBeGreaterThan(0)
  // Load-independent: each script file costs the renderer a request before
  // the page can run (the Accounts screen fetched 75 files in session 15,
  // 35 of them under 2 kB). The chunk groups (frontend/build/chunkGroups.ts)
  // keep each measured page to a handful: early.js, route-preload.js, the
  // entry, the groups and the page's own chunks.
  expect(signIn.scripts, 'script files of the sign-in page').toBeLessThanOrEqual(8)
  expect(accounts.scripts, 'script files of the Accounts screen').toBeLessThanOrEqual(8)
})
