import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import type { Session } from '@/api/types'
import { mountWithApp } from '@/test/mount'
import SessionsCard from './SessionsCard.vue'

function session(id: string, current: boolean): Session {
  return {
    id,
    current,
    createdAt: '2026-01-01T10:00:00Z',
    lastSeenAt: '2026-01-02T10:00:00Z',
    expiresAt: '2026-02-01T10:00:00Z',
    ip: `10.0.0.${id.length}`,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0 Safari/537.36',
    method: 'password',
  }
}

function stubApi(sessions: Session[]) {
  const calls: string[] = []
  const fetchMock = vi.fn(async (req: Request) => {
    calls.push(`${req.method} ${new URL(req.url).pathname}`)
    if (req.method === 'GET') {
      return new Response(JSON.stringify({ items: sessions }), { status: 200, headers: { 'Content-Type': 'application/json' } })
    }
    return new Response(null, { status: 204 })
  })
  vi.stubGlobal('fetch', fetchMock)
  return calls
}

describe('SessionsCard', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    document.body.innerHTML = ''
  })

  it('tags the current device and offers revoke only for the others', async () => {
    stubApi([session('cur', true), session('other', false)])
    const { wrapper } = mountWithApp(SessionsCard)
    await flushPromises()
    expect(wrapper.findAll('[data-testid="session-current"]')).toHaveLength(1)
    expect(wrapper.findAll('[data-testid="session-revoke"]')).toHaveLength(1)
    wrapper.unmount()
  })

  it('asks before revoking and only then calls DELETE', async () => {
    const calls = stubApi([session('cur', true), session('other', false)])
    const { wrapper } = mountWithApp(SessionsCard)
    await flushPromises()
    await wrapper.find('[data-testid="session-revoke"]').trigger('click')
    await flushPromises()
    expect(calls.filter((c) => c.startsWith('DELETE'))).toEqual([])
    const ok = document.body.querySelector<HTMLButtonElement>('[data-testid="confirm-ok"]')
    expect(ok).not.toBeNull()
    ok!.click()
    await flushPromises()
    expect(calls).toContain('DELETE /api/me/sessions/other')
    wrapper.unmount()
  })

  it('disables "sign out other devices" when there are none', async () => {
    stubApi([session('cur', true)])
    const { wrapper } = mountWithApp(SessionsCard)
    await flushPromises()
    expect(wrapper.find('[data-testid="sessions-revoke-others"]').attributes('disabled')).toBeDefined()
    wrapper.unmount()
  })
})
