// Relative times ("3 hours ago") for the account list; the exact time goes
// into a tooltip in the admin's own time zone.

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
]

// Creating an Intl formatter costs far more than using one (about a
// millisecond here, and a list page formats two times per row): keep one per
// locale.
const formatters = new Map<string, Intl.RelativeTimeFormat>()

function formatterFor(locale: string): Intl.RelativeTimeFormat {
  let fmt = formatters.get(locale)
  if (!fmt) {
    fmt = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })
    formatters.set(locale, fmt)
  }
  return fmt
}

/**
 * Makes the locale's formatter ahead of the list's first render. The
 * browser's first Intl formatter also loads its locale data (tens of
 * milliseconds of the Accounts screen's first render on a quiet machine);
 * the router calls this while the list and the page's chunks are still on
 * their way (prefetch.ts; issue 15, time to interactive).
 */
export function warmRelativeTime(locale: string): void {
  formatterFor(locale)
}

/** Test hook: forgets the formatters made so far. */
export function resetRelativeTime(): void {
  formatters.clear()
}

/** "5 minutes ago", "in 2 days", ... for an ISO time relative to now. */
export function relativeTime(iso: string, now: number, locale: string): string {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return iso
  const seconds = Math.round((ms - now) / 1000)
  const abs = Math.abs(seconds)
  const fmt = formatterFor(locale)
  if (abs < 45) return fmt.format(0, 'second')
  for (const [unit, size] of units) {
    if (abs >= size) return fmt.format(Math.trunc(seconds / size), unit)
  }
  return fmt.format(seconds, 'second')
}

/** True when a lock time lies in the future. */
export function isLockedNow(lockedUntil: string | null | undefined, now: number): boolean {
  if (!lockedUntil) return false
  const ms = Date.parse(lockedUntil)
  return !Number.isNaN(ms) && ms > now
}
