// Money is integer minor units (cents, fen, ...). These helpers format them
// with the platform currency and parse what an admin types back into minor
// units without ever going through a float multiplication.

// Creating an Intl formatter costs far more than using one, and a list page
// formats a balance per row: keep one per locale and currency (null when
// Intl refuses the locale or the currency code).
const numberFormats = new Map<string, Intl.NumberFormat | null>()

function numberFormat(locale: string, currency: string, digits = 2): Intl.NumberFormat | null {
  const key = `${locale}|${currency}|${currency ? '' : digits}`
  const cached = numberFormats.get(key)
  if (cached !== undefined) return cached
  let fmt: Intl.NumberFormat | null
  try {
    fmt = currency
      ? new Intl.NumberFormat(locale, { style: 'currency', currency })
      : new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits })
  } catch {
    fmt = null
  }
  numberFormats.set(key, fmt)
  return fmt
}

/** Digits after the decimal point of a currency (2 for USD, 0 for JPY). */
export function currencyDigits(currency: string): number {
  return numberFormat('en', currency)?.resolvedOptions().maximumFractionDigits ?? 2
}

/** A valid ISO 4217 code according to Intl. */
export function isCurrencyCode(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && numberFormat('en', code) !== null
}

/** Minor units as a decimal string ("-12.05" for -1205 with 2 digits), exact for any safe integer. */
export function minorToDecimal(minor: number, digits: number): string {
  const negative = minor < 0
  const abs = BigInt(Math.abs(Math.trunc(minor)))
  if (digits <= 0) return `${negative ? '-' : ''}${abs}`
  const scale = 10n ** BigInt(digits)
  const whole = abs / scale
  const frac = (abs % scale).toString().padStart(digits, '0')
  return `${negative ? '-' : ''}${whole}.${frac}`
}

/** Formats minor units as money, e.g. 123456 USD → "$1,234.56". */
export function formatMinor(minor: number, currency: string, locale: string): string {
  const code = currency && isCurrencyCode(currency) ? currency : ''
  const digits = code ? currencyDigits(code) : 2
  const decimal = minorToDecimal(minor, digits)
  // Intl formats decimal strings exactly (no float rounding of large values).
  const value = decimal as unknown as number
  const fmt = numberFormat(locale, code, digits)
  try {
    if (fmt) return fmt.format(value)
  } catch {
    // fall through to the plain form
  }
  return code ? `${decimal} ${code}` : decimal
}

/**
 * Parses a typed amount in major units ("12.5", "-3", "1,000.25") into minor
 * units; null when it is not a number or has more decimals than the currency.
 */
export function parseMajorToMinor(text: string, currency: string): number | null {
  const digits = currency && isCurrencyCode(currency) ? currencyDigits(currency) : 2
  const cleaned = text.trim().replace(/[\s,_]/g, '')
  const match = /^([+-]?)(\d+)(?:\.(\d*))?$/.exec(cleaned)
  if (!match) return null
  const [, sign, whole, frac = ''] = match
  if (frac.length > digits) return null
  const minor = BigInt(whole!) * 10n ** BigInt(digits) + BigInt(frac.padEnd(digits, '0') || '0')
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) return null
  const n = Number(minor)
  return sign === '-' ? -n : n
}

/**
 * True when a balance change would leave the balance below zero without a
 * negative balance being allowed: the server refuses it (negative_balance),
 * so the dialog says so instead of offering Confirm.
 */
export function refusesBelowZero(current: number, mode: 'add' | 'set', amount: number | null, allowNegative: boolean): boolean {
  if (amount === null || allowNegative) return false
  return (mode === 'add' ? current + amount : amount) < 0
}
