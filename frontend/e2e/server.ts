// Starts bin/gatehouse on a free port with an empty data directory and reads
// the one-time setup link from its output. global-setup.ts starts the shared
// server with it; a spec that needs a server of its own (its own accounts,
// independent of the order of spec files) starts one through ownServer in
// admin-fixtures.ts.
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

export interface RunningServer {
  /** The public URL (--base-url): what the browser opens. */
  base: string
  /** The listening address as a URL, for calls from Node (base may name localhost). */
  direct: string
  token: string
  dataDir: string
  log: string[]
  /** Stops the server and removes its data directory. */
  stop: () => Promise<void>
}

/**
 * Starts a server. publicHost, when given, is the host of --base-url (the
 * server still listens on 127.0.0.1): WebAuthn needs a relying-party ID
 * that is a host name, so passkey specs open http://localhost:PORT. env
 * adds environment variables, such as the test-only
 * GATEHOUSE_TEST_EXPORT_FAIL_AFTER (export.spec.ts).
 */
export async function startGatehouse(publicHost?: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const bin = process.env.GATEHOUSE_BIN ?? join(root, 'bin', 'gatehouse')
  if (!existsSync(bin)) {
    throw new Error(`${bin} not found: build it first (make build, or go build -o bin/gatehouse .)`)
  }
  const port = await freePort()
  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-'))
  const direct = `http://127.0.0.1:${port}`
  const base = publicHost ? `http://${publicHost}:${port}` : direct
  const log: string[] = []
  const args = ['serve', '--http', `127.0.0.1:${port}`, '--data', dataDir, ...(publicHost ? ['--base-url', base] : [])]
  const proc = spawn(bin, args, {
    cwd: dataDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const cleanup = async () => {
    await stop(proc)
    await rm(dataDir, { recursive: true, force: true })
  }
  try {
    const token = await waitForSetupToken(proc, log)
    await waitForHealth(direct)
    return { base, direct, token, dataDir, log, stop: cleanup }
  } catch (err) {
    await cleanup()
    throw err
  }
}
