import { describe, expect, it, vi } from 'vitest'
import { isLockedNow, relativeTime, resetRelativeTime } from './time'
import { prefetchAccountsScreen } from './prefetch'
import { resetPrefetch } from '@/stores/prefetch'

const now = Date.parse('2026-03-10T12:00:00Z')

describe('relativeTime', () => {
  it.each([
    ['2026-03-10T11:59:50Z', 'now'],
    ['2026-03-10T11:55:00Z', '5 minutes ago'],
    ['2026-03-10T09:00:00Z', '3 hours ago'],
    ['2026-03-09T12:00:00Z', 'yesterday'],
    ['2026-02-20T12:00:00Z', '2 weeks ago'],
    ['2024-03-10T12:00:00Z', '2 years ago'],
    ['2026-03-10T14:00:00Z', 'in 2 hours'],
  ])('%s → %s', (iso, text) => {
    expect(relativeTime(iso, now, 'en')).toBe(text)
  })

  it('speaks Chinese too', () => {
    expect(relativeTime('2026-03-10T09:00:00Z', now, 'zh-CN')).toBe('3小时前')
  })
})

describe('isLockedNow', () => {
  it('is true only for a lock in the future', () => {
    expect(isLockedNow(null, now)).toBe(false)
    expect(isLockedNow('2026-03-10T11:00:00Z', now)).toBe(false)
    expect(isLockedNow('2026-03-10T13:00:00Z', now)).toBe(true)
  })
})

describe('the formatter of the Accounts screen', () => {
  it("is made by the router's prefetch, before the list renders (issue 15)", () => {
    resetRelativeTime()
    vi.stubGlobal('fetch', vi.fn(() => new Promise<Response>(() => undefined)))
    const Real = Intl.RelativeTimeFormat
    let made = 0
    // Counts the formatters made (Intl's members are writable; the lib types say readonly).
    const intl = Intl as { RelativeTimeFormat: typeof Real }
    intl.RelativeTimeFormat = class extends Real {
      constructor(...args: ConstructorParameters<typeof Real>) {
        super(...args)
        made++
      }
    }
    try {
      prefetchAccountsScreen({})
      expect(made).toBe(1)
      expect(relativeTime('2026-03-10T09:00:00Z', now, 'en')).toBe('3 hours ago')
      expect(made).toBe(1)
    } finally {
      intl.RelativeTimeFormat = Real
      vi.unstubAllGlobals()
      resetPrefetch()
    }
  })
})
