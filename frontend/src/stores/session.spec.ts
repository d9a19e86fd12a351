import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { stubFetch } from '@/test/fetch'
import { loadSession, loadSetupPending, resetSessionStore } from './session'

describe('session store', () => {
  beforeEach(() => resetSessionStore())
  afterEach(() => vi.unstubAllGlobals())

  it('shares one request between callers that arrive before the answer', async () => {
    const calls = stubFetch({
      'GET /api/me': { status: 200, body: { username: 'alice', role: 'user' } },
      'GET /api/setup/status': { status: 200, body: { pending: false } },
    })
    const [a, b] = await Promise.all([loadSession(), loadSession()])
    const [p, q] = await Promise.all([loadSetupPending(), loadSetupPending()])
    expect(a?.username).toBe('alice')
    expect(b).toBe(a)
    expect(p).toBe(false)
    expect(q).toBe(false)
    expect(calls.filter((c) => c.path === '/api/me')).toHaveLength(1)
    expect(calls.filter((c) => c.path === '/api/setup/status')).toHaveLength(1)
    // Answered: later callers get the remembered user without a request.
    expect((await loadSession())?.username).toBe('alice')
    expect(calls.filter((c) => c.path === '/api/me')).toHaveLength(1)
  })

  it('asks again when forced, even with a call in flight', async () => {
    const calls = stubFetch({ 'GET /api/me': { status: 401, body: { error: { code: 'unauthorized', message: 'no' } } } })
    await Promise.all([loadSession(), loadSession(true)])
    expect(calls.filter((c) => c.path === '/api/me')).toHaveLength(2)
  })

  it('treats 401 as signed out and lets other errors through', async () => {
    stubFetch({ 'GET /api/me': { status: 401, body: { error: { code: 'unauthorized', message: 'no' } } } })
    expect(await loadSession()).toBeNull()
    resetSessionStore()
    stubFetch({ 'GET /api/me': { status: 500, body: { error: { code: 'internal', message: 'boom' } } } })
    await expect(loadSession()).rejects.toThrow()
    // A forced reload asks again.
    stubFetch({ 'GET /api/me': { status: 200, body: { username: 'bob', role: 'user' } } })
    expect((await loadSession(true))?.username).toBe('bob')
  })
})
