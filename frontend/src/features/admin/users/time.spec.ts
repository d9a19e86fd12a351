import { describe, expect, it, vi } from 'vitest'
import { formatRelative, isLockedNow, relativeTime, resetRelativeTime } from './time'
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

describe("the Accounts screen's relative times (issue 15)", () => {
  const unitsUsed = ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'] as const

  it('are the words of Intl.RelativeTimeFormat with numeric: auto, in both languages', () => {
    for (const locale of ['en', 'zh-CN']) {
      const intl = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })
      for (const unit of unitsUsed) {
        for (let n = -1200; n <= 1200; n += n > -60 && n < 60 ? 1 : 7) {
          if (n === 0 && unit !== 'second') continue // relativeTime never asks for these
          expect(formatRelative(n, unit, locale), `${locale} ${n} ${unit}`).toBe(intl.format(n, unit))
        }
      }
    }
  })

  it('need no Intl.RelativeTimeFormat in English or Chinese (its first use loads locale data)', () => {
    resetRelativeTime()
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
      vi.stubGlobal('fetch', vi.fn(() => new Promise<Response>(() => undefined)))
      prefetchAccountsScreen({})
      for (const iso of ['2026-03-10T09:00:00Z', '2026-03-09T12:00:00Z', '2026-03-10T11:59:50Z', '2024-03-10T12:00:00Z']) {
        relativeTime(iso, now, 'en')
        relativeTime(iso, now, 'zh-CN')
      }
      expect(made).toBe(0)
      // Other languages still get the browser's words.
      expect(relativeTime('2026-03-10T09:00:00Z', now, 'de')).toBe('vor 3 Stunden')
      expect(made).toBe(1)
    } finally {
      intl.RelativeTimeFormat = Real
      vi.unstubAllGlobals()
      resetPrefetch()
    }
  })
})
