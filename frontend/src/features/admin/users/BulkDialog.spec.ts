import { afterEach, describe, expect, it, vi } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { setUser } from '@/stores/session'
import { stubFetch } from '@/test/fetch'
import { mountWithApp } from '@/test/mount'
import type { BulkRequest, User } from './types'
import BulkDialog from './BulkDialog.vue'

const me = { publicId: 'me', username: 'root', role: 'super_admin', timezone: 'UTC' } as User

function preview(body: unknown) {
  const req = body as BulkRequest
  if (req.dryRun) {
    return {
      status: 200,
      body: {
        dryRun: true,
        batchId: '',
        matched: 3,
        changed: 2,
        refused: [{ publicId: 'p3', username: 'carol', code: 'super_admin_protected', message: 'server words' }],
      },
    }
  }
  if (!req.skipRefused) return { status: 409, body: { error: { code: 'bulk_refused', message: 'nope' } } }
  return { status: 200, body: { dryRun: false, batchId: 'b1', matched: 3, changed: 2, refused: [] } }
}

function q(id: string): HTMLElement | null {
  return document.body.querySelector<HTMLElement>(`[data-testid="${id}"]`)
}

describe('BulkDialog', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    setUser(null)
    document.body.innerHTML = ''
  })

  it('runs the dry run first and lists refusals in words', async () => {
    setUser(me)
    const calls = stubFetch({ 'POST /api/admin/users/bulk': preview })
    const { wrapper } = mountWithApp(BulkDialog, {
      props: { show: true, action: 'set_status', target: { publicIds: ['p1', 'p2', 'p3'] }, count: 3, currency: 'USD' },
    })
    await vi.waitFor(() => expect(q('bulk-preview-changed')).not.toBeNull(), { timeout: 10_000 })
    expect(calls).toHaveLength(1)
    expect(calls[0]!.body).toMatchObject({ action: 'set_status', publicIds: ['p1', 'p2', 'p3'], params: { status: 'suspended' }, dryRun: true })
    expect(q('bulk-preview-changed')!.textContent).toContain('2 accounts will change')
    const rows = document.body.querySelectorAll('[data-testid="bulk-refused-row"]')
    expect(rows).toHaveLength(1)
    expect(rows[0]!.textContent).toContain('carol')
    expect(rows[0]!.textContent).toContain('Only a super administrator may change a super administrator.')
    expect(rows[0]!.textContent).not.toContain('server words')
    wrapper.unmount()
  })

  it('confirms only after the admin agrees to skip the refused ones', async () => {
    setUser(me)
    const calls = stubFetch({ 'POST /api/admin/users/bulk': preview })
    const { wrapper, inner } = mountWithApp(BulkDialog, {
      props: { show: true, action: 'set_status', target: { publicIds: ['p1', 'p2', 'p3'] }, count: 3, currency: 'USD' },
    })
    await vi.waitFor(() => expect(q('bulk-refused')).not.toBeNull(), { timeout: 10_000 })
    const confirm = q('bulk-confirm') as HTMLButtonElement
    expect(confirm.disabled).toBe(true)
    q('bulk-skip-refused')!.click()
    await flushPromises()
    expect((q('bulk-confirm') as HTMLButtonElement).disabled).toBe(false)
    ;(q('bulk-reason') as HTMLTextAreaElement).value = 'spam wave'
    q('bulk-reason')!.dispatchEvent(new Event('input'))
    q('bulk-confirm')!.click()
    await flushPromises()
    const real = calls.find((c) => (c.body as BulkRequest).dryRun === false)
    expect(real?.body).toMatchObject({ skipRefused: true, reason: 'spam wave', params: { status: 'suspended' } })
    expect(inner().emitted('done')?.[0]?.[0]).toMatchObject({ changed: 2, batchId: 'b1' })
    wrapper.unmount()
  })

  it('asks to type "delete N" (N from the preview) before a bulk deletion', async () => {
    setUser(me)
    stubFetch({
      'POST /api/admin/users/bulk': () => ({ status: 200, body: { dryRun: true, batchId: '', matched: 2, changed: 2, refused: [] } }),
    })
    const { wrapper } = mountWithApp(BulkDialog, {
      props: { show: true, action: 'delete', target: { filter: { status: 'deactivated' } }, count: 2, currency: '' },
    })
    await vi.waitFor(() => expect(q('bulk-preview-changed')).not.toBeNull(), { timeout: 10_000 })
    expect((q('bulk-confirm') as HTMLButtonElement).disabled).toBe(true)
    const input = q('bulk-type-confirm') as HTMLInputElement
    for (const wrong of ['2', 'DELETE', 'delete 3']) {
      input.value = wrong
      input.dispatchEvent(new Event('input'))
      await flushPromises()
      expect((q('bulk-confirm') as HTMLButtonElement).disabled, wrong).toBe(true)
    }
    input.value = 'delete 2'
    input.dispatchEvent(new Event('input'))
    await flushPromises()
    expect((q('bulk-confirm') as HTMLButtonElement).disabled).toBe(false)
    wrapper.unmount()
  })
})
