// Formatting helpers shared by pages.

// One formatter per locale and zone: creating one costs far more than using it.
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>()

function dateTimeFormat(locale: string, timeZone: string | undefined): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone ?? ''}`
  let fmt = dateTimeFormats.get(key)
  if (!fmt) {
    const options: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'medium' }
    try {
      fmt = new Intl.DateTimeFormat(locale, { ...options, timeZone: timeZone || undefined })
    } catch {
      // Unknown time zone name: fall back to the browser's zone.
      fmt = new Intl.DateTimeFormat(locale, options)
    }
    dateTimeFormats.set(key, fmt)
  }
  return fmt
}

/** Formats an ISO date-time for the UI locale, optionally in a given IANA zone. */
export function formatDateTime(iso: string | null | undefined, locale: string, timeZone?: string): string {
  if (!iso) return ''
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return dateTimeFormat(locale, timeZone).format(date)
}

/** A short, readable name for a user agent string ("Firefox on Linux"). */
export function describeUserAgent(ua: string): string {
  if (!ua) return ''
  const browser =
    /Edg\//.test(ua) ? 'Edge'
    : /OPR\/|Opera/.test(ua) ? 'Opera'
    : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrom(e|ium)\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari'
    : /curl\//.test(ua) ? 'curl'
    : ''
  const os =
    /Windows/.test(ua) ? 'Windows'
    : /Android/.test(ua) ? 'Android'
    : /iPhone|iPad|iOS/.test(ua) ? 'iOS'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS'
    : /Linux/.test(ua) ? 'Linux'
    : ''
  if (browser && os) return `${browser} · ${os}`
  return browser || os || ua.slice(0, 60)
}

/** All IANA time zones the browser knows, with UTC first. */
export function timeZones(extra?: string): string[] {
  let zones: string[] = []
  try {
    zones = Intl.supportedValuesOf('timeZone')
  } catch {
    zones = []
  }
  const list = ['UTC', ...zones.filter((z) => z !== 'UTC')]
  if (extra && !list.includes(extra)) list.push(extra)
  return list
}
