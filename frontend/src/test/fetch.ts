// A fetch stub for component tests: answers by "METHOD /path" and records calls.
import { vi } from 'vitest'

export interface StubCall {
  method: string
  path: string
  /** The query string with its "?", or "". */
  query: string
  body: unknown
}

type Answer = { status: number; body?: unknown }

export function stubFetch(routes: Record<string, Answer | ((body: unknown) => Answer)>) {
  const calls: StubCall[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (req: Request) => {
      const url = new URL(req.url)
      const path = url.pathname
      const text = await req.text()
      const body: unknown = text ? JSON.parse(text) : undefined
      calls.push({ method: req.method, path, query: url.search, body })
      const route = routes[`${req.method} ${path}`]
      const answer = typeof route === 'function' ? route(body) : (route ?? { status: 404, body: { error: { code: 'not_found', message: 'Not found.' } } })
      if (answer.body === undefined) return new Response(null, { status: answer.status })
      return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'Content-Type': 'application/json' } })
    }),
  )
  return calls
}
