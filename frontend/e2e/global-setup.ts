// Starts bin/gatehouse on a free port with an empty data directory, reads the
// one-time setup link from its output, waits for /api/health, and hands the
// base URL and token to the tests through environment variables. The returned
// function stops the server and removes the data directory.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

const root = resolve(import.meta.dirname, '..', '..')
const startTimeoutMs = 30_000

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => ok(port))
    })
  })
}

/** Resolves with the setup token once a line with "/setup?token=" appears. */
function waitForSetupToken(proc: ChildProcess, log: string[]): Promise<string> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no setup link within ${startTimeoutMs} ms:\n${log.join('\n')}`)), startTimeoutMs)
    const onLine = (line: string) => {
      log.push(line)
      const match = /\/setup\?token=([^\s"'&<>]+)/.exec(line)
      if (match?.[1]) {
        clearTimeout(timer)
        ok(decodeURIComponent(match[1]))
      }
    }
    for (const stream of [proc.stdout, proc.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', onLine)
    }
    proc.once('exit', (code, signal) => {
      clearTimeout(timer)
      fail(new Error(`gatehouse exited early (code ${code}, signal ${signal}):\n${log.join('\n')}`))
    })
  })
}

async function waitForHealth(base: string): Promise<void> {
  const deadline = Date.now() + startTimeoutMs
  let last = ''
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/api/health`)
      if (res.status === 200) return
      last = `HTTP ${res.status}`
    } catch (err) {
      last = String(err)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`GET /api/health did not answer 200 (${last})`)
}

function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  return new Promise((ok) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000)
    proc.once('exit', () => {
      clearTimeout(kill)
      ok()
    })
    proc.kill('SIGTERM')
  })
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = process.env.GATEHOUSE_BIN ?? join(root, 'bin', 'gatehouse')
  if (!existsSync(bin)) {
    throw new Error(`${bin} not found: build it first (make build, or go build -o bin/gatehouse .)`)
  }
  const port = await freePort()
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-'))
  const base = `http://127.0.0.1:${port}`
  const log: string[] = []
  const proc = spawn(bin, ['serve', '--http', `127.0.0.1:${port}`, '--data', dataDir], {
    cwd: dataDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  })

  try {
    const token = await waitForSetupToken(proc, log)
    await waitForHealth(base)
    process.env.GATEHOUSE_E2E_URL = base
    process.env.GATEHOUSE_E2E_SETUP_TOKEN = token
  } catch (err) {
    await stop(proc)
    await rm(dataDir, { recursive: true, force: true })
    throw err
  }

  return async () => {
    await stop(proc)
    await rm(dataDir, { recursive: true, force: true })
    if (process.env.GATEHOUSE_E2E_LOG) console.log(log.join('\n'))
  }
}
