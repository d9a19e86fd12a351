// Helper processes for the browser tests and the settings calls they share:
// internal/devtools/mockoidc (a real OpenID provider) and
// internal/devtools/mailsink (a real SMTP server whose mail the tests read),
// both built to bin/ by `make test-e2e`.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { expect, type APIRequestContext } from '@playwright/test'

const repo = resolve(import.meta.dirname, '..', '..')

/** Starts bin/NAME and answers the first line it prints. */
async function startTool(name: string, args: string[]): Promise<{ line: string; proc: ChildProcess }> {
  const bin = join(repo, 'bin', name)
  if (!existsSync(bin)) throw new Error(`${bin} not found: build it (go build -o bin/${name} ./internal/devtools/${name})`)
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start`)), 10_000)
    createInterface({ input: proc.stdout! }).once('line', (l) => {
      clearTimeout(timer)
      ok(l)
    })
  })
  return { line, proc }
}

export interface MockIdP {
  issuer: string
  origin: string
  clientId: string
  clientSecret: string
  proc: ChildProcess
}

export async function startMockIdP(): Promise<MockIdP> {
  const { line, proc } = await startTool('mockoidc', ['-addr', '127.0.0.1:0'])
  const m = /^ISSUER (\S+) CLIENT_ID (\S+) CLIENT_SECRET (\S+)$/.exec(line)
  if (!m) throw new Error(`unexpected mockoidc line: ${line}`)
  return { issuer: m[1]!, origin: new URL(m[1]!).origin, clientId: m[2]!, clientSecret: m[3]!, proc }
}

/** Queues the person the provider signs in at its next authorization. */
export async function queuePerson(idp: MockIdP, person: { sub: string; username: string; email: string; emailVerified?: boolean }): Promise<void> {
  const res = await fetch(`${idp.origin}/e2e/users`, { method: 'POST', body: JSON.stringify({ emailVerified: true, ...person }) })
  expect(res.status).toBe(204)
}

export interface Mailsink {
  smtpHost: string
  smtpPort: number
  http: string
  proc: ChildProcess
}

/**
 * Starts mailsink. With `starttlsCA`, it also offers STARTTLS under a
 * certificate from a private CA of its own and writes that CA's certificate
 * (PEM) to the file `starttlsCA`.
 */
export async function startMailsink(opts: { starttlsCA?: string } = {}): Promise<Mailsink> {
  const tls = opts.starttlsCA ? ['-starttls-ca', opts.starttlsCA] : []
  const { line, proc } = await startTool('mailsink', ['-smtp', '127.0.0.1:0', '-http', '127.0.0.1:0', ...tls])
  const m = /^SMTP ([\d.]+):(\d+) HTTP (\S+)$/.exec(line)
  if (!m) throw new Error(`unexpected mailsink line: ${line}`)
  return { smtpHost: m[1]!, smtpPort: Number(m[2]), http: `http://${m[3]}`, proc }
}

/** Waits up to 15 s for the newest mail to `to` whose subject contains `subject`. */
export async function waitForMail(sink: Mailsink, to: string, subject: string): Promise<{ text: string }> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const res = await fetch(`${sink.http}/messages?to=${encodeURIComponent(to)}`)
    const list = (await res.json()) as { subject: string; text: string }[]
    const hit = list.reverse().find((m) => m.subject.includes(subject))
    if (hit) return hit
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`no email to ${to} about "${subject}"`)
}

/** Changes some fields of a settings group (sending the rest as read). */
export async function putGroup(api: APIRequestContext, group: string, fields: Record<string, unknown>): Promise<void> {
  const cur = (await (await api.get(`/api/admin/settings/${group}`)).json()) as Record<string, unknown>
  const res = await api.put(`/api/admin/settings/${group}`, { data: { ...cur, ...fields } })
  expect(res.status(), await res.text()).toBe(200)
}
