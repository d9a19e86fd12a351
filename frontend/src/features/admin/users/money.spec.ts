import { describe, expect, it } from 'vitest'
import { currencyDigits, formatMinor, isCurrencyCode, minorToDecimal, parseMajorToMinor } from './money'

describe('money', () => {
  it('knows the minor-unit digits of a currency', () => {
    expect(currencyDigits('USD')).toBe(2)
    expect(currencyDigits('JPY')).toBe(0)
    expect(currencyDigits('KWD')).toBe(3)
  })

  it('validates currency codes', () => {
    expect(isCurrencyCode('EUR')).toBe(true)
    expect(isCurrencyCode('eur')).toBe(false)
    expect(isCurrencyCode('EURO')).toBe(false)
  })

  it('turns minor units into exact decimals', () => {
    expect(minorToDecimal(123456, 2)).toBe('1234.56')
    expect(minorToDecimal(-5, 2)).toBe('-0.05')
    expect(minorToDecimal(0, 2)).toBe('0.00')
    expect(minorToDecimal(500, 0)).toBe('500')
    expect(minorToDecimal(9007199254740991, 2)).toBe('90071992547409.91')
  })

  it('formats minor units with the currency and locale', () => {
    expect(formatMinor(123456, 'USD', 'en-US')).toBe('$1,234.56')
    expect(formatMinor(-1205, 'USD', 'en-US')).toBe('-$12.05')
    expect(formatMinor(1500, 'JPY', 'en-US')).toBe('¥1,500')
    expect(formatMinor(123456, 'CNY', 'zh-CN')).toBe('¥1,234.56')
    expect(formatMinor(9007199254740991, 'USD', 'en-US')).toBe('$90,071,992,547,409.91')
  })

  it('formats without a currency as a plain number', () => {
    expect(formatMinor(1234, '', 'en-US')).toBe('12.34')
  })

  it('parses typed amounts into minor units', () => {
    expect(parseMajorToMinor('12.5', 'USD')).toBe(1250)
    expect(parseMajorToMinor('-3', 'USD')).toBe(-300)
    expect(parseMajorToMinor('1,000.25', 'USD')).toBe(100025)
    expect(parseMajorToMinor('0.1', 'USD')).toBe(10)
    expect(parseMajorToMinor('19.99', 'USD')).toBe(1999)
    expect(parseMajorToMinor('1500', 'JPY')).toBe(1500)
  })

  it('refuses what is not an amount in the currency', () => {
    expect(parseMajorToMinor('', 'USD')).toBeNull()
    expect(parseMajorToMinor('abc', 'USD')).toBeNull()
    expect(parseMajorToMinor('1.234', 'USD')).toBeNull()
    expect(parseMajorToMinor('1.5', 'JPY')).toBeNull()
    expect(parseMajorToMinor('1e3', 'USD')).toBeNull()
    expect(parseMajorToMinor('999999999999999999', 'USD')).toBeNull()
  })
})

describe('refusesBelowZero (the balance dialog checks what the server would refuse)', () => {
  it('refuses a result below zero unless a negative balance is allowed', async () => {
    const { refusesBelowZero } = await import('./money')
    expect(refusesBelowZero(500, 'add', -600, false)).toBe(true)
    expect(refusesBelowZero(500, 'add', -500, false)).toBe(false)
    expect(refusesBelowZero(500, 'set', -1, false)).toBe(true)
    expect(refusesBelowZero(500, 'add', -600, true)).toBe(false)
    expect(refusesBelowZero(500, 'add', null, false)).toBe(false)
  })
})
