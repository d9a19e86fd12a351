// Relative times ("3 hours ago") for the account list; the exact time goes
// into a tooltip in the admin's own time zone.

type Unit = 'year' | 'month' | 'week' | 'day' | 'hour' | 'minute' | 'second'

const units: [Unit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
]

// The console's two languages are formatted here, with the words
// Intl.RelativeTimeFormat(locale, { numeric: 'auto' }) gives (time.spec.ts
// compares every unit and count): the browser's first Intl.RelativeTimeFormat
// loads its locale data, 40-70 ms of main-thread time on the Accounts
// screen's first render (issue 15, time to interactive). Other locales, and
// counts of 1,000 or more (digit grouping), go to Intl.
const en: Record<Unit, [string, string]> = {
  year: ['year', 'years'],
  month: ['month', 'months'],
  week: ['week', 'weeks'],
  day: ['day', 'days'],
  hour: ['hour', 'hours'],
  minute: ['minute', 'minutes'],
  second: ['second', 'seconds'],
}
const enNamed: Partial<Record<Unit, Record<number, string>>> = {
  year: { [-1]: 'last year', 1: 'next year' },
  month: { [-1]: 'last month', 1: 'next month' },
  week: { [-1]: 'last week', 1: 'next week' },
  day: { [-1]: 'yesterday', 1: 'tomorrow' },
}
const zh: Record<Unit, string> = {
  year: '年',
  month: '个月',
  week: '周',
  day: '天',
  hour: '小时',
  minute: '分钟',
  second: '秒钟',
}
const zhNamed: Partial<Record<Unit, Record<number, string>>> = {
  year: { [-1]: '去年', 1: '明年' },
  month: { [-1]: '上个月', 1: '下个月' },
  week: { [-1]: '上周', 1: '下周' },
  day: { [-2]: '前天', [-1]: '昨天', 1: '明天', 2: '后天' },
}

function builtIn(locale: string, n: number, unit: Unit): string | null {
  if (Math.abs(n) >= 1000) return null
  if (locale === 'en' || locale.startsWith('en-')) {
    if (n === 0 && unit === 'second') return 'now'
    const named = enNamed[unit]?.[n]
    if (named) return named
    const abs = Math.abs(n)
    const word = en[unit][abs === 1 ? 0 : 1]
    return n < 0 ? `${abs} ${word} ago` : `in ${abs} ${word}`
  }
  if (locale === 'zh-CN') {
    if (n === 0 && unit === 'second') return '现在'
    const named = zhNamed[unit]?.[n]
    if (named) return named
    return n < 0 ? `${Math.abs(n)}${zh[unit]}前` : `${n}${zh[unit]}后`
  }
  return null
}

// Creating an Intl formatter costs far more than using one: keep one per
// locale (for the locales formatted above only counts of 1,000 and more).
const formatters = new Map<string, Intl.RelativeTimeFormat>()

function formatterFor(locale: string): Intl.RelativeTimeFormat {
  let fmt = formatters.get(locale)
  if (!fmt) {
    fmt = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })
    formatters.set(locale, fmt)
  }
  return fmt
}

/** Test hook: forgets the formatters made so far. */
export function resetRelativeTime(): void {
  formatters.clear()
}

/** One count of one unit, as Intl.RelativeTimeFormat(locale, { numeric: 'auto' }) says it. */
export function formatRelative(n: number, unit: Unit, locale: string): string {
  return builtIn(locale, n, unit) ?? formatterFor(locale).format(n, unit)
}

/** "5 minutes ago", "in 2 days", ... for an ISO time relative to now. */
export function relativeTime(iso: string, now: number, locale: string): string {
  const ms = Date.parse(iso)
  if (Number.isNaN(ms)) return iso
  const seconds = Math.round((ms - now) / 1000)
  const abs = Math.abs(seconds)
  if (abs < 45) return formatRelative(0, 'second', locale)
  for (const [unit, size] of units) {
    if (abs >= size) return formatRelative(Math.trunc(seconds / size), unit, locale)
  }
  return formatRelative(seconds, 'second', locale)
}

/** True when a lock time lies in the future. */
export function isLockedNow(lockedUntil: string | null | undefined, now: number): boolean {
  if (!lockedUntil) return false
  const ms = Date.parse(lockedUntil)
  return !Number.isNaN(ms) && ms > now
}
