import { describe, expect, it } from 'vitest'
import { formatPreferences, parsePreferences } from './preferences'

describe('preferences JSON', () => {
  it('accepts objects and empty text', () => {
    expect(parsePreferences('{"theme":"dark"}')).toEqual({ theme: 'dark' })
    expect(parsePreferences('  ')).toEqual({})
  })

  it('refuses everything that is not an object', () => {
    for (const text of ['[]', '1', '"x"', 'null', '{theme: dark}', '{"a":']) expect(parsePreferences(text)).toBeNull()
  })

  it('formats for editing', () => {
    expect(formatPreferences({})).toBe('{}')
    expect(formatPreferences({ a: 1 })).toBe('{\n  "a": 1\n}')
  })
})
