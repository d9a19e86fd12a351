import { describe, expect, it } from 'vitest'
import {
  defaultPerPage,
  emptyFilters,
  hasFilters,
  joinSort,
  parseUserQuery,
  splitSort,
  toApiQuery,
  toExportQuery,
  toFilter,
  toRouteQuery,
} from './query'

describe('account list query', () => {
  it('parses search, filters, sort and page from the URL', () => {
    const f = parseUserQuery({
      q: ' bob ',
      role: 'admin',
      status: 'suspended',
      subscription: 'expired',
      twoFactor: 'on',
      locked: 'true',
      emailVerified: 'false',
      dormantDays: '30',
      sort: '-last_login',
      page: '3',
      perPage: '50',
    })
    expect(f).toEqual({
      q: 'bob',
      role: 'admin',
      status: 'suspended',
      subscription: 'expired',
      twoFactor: 'on',
      locked: 'true',
      emailVerified: 'false',
      dormantDays: 30,
      sort: '-last_login',
      page: 3,
      perPage: 50,
    })
  })

  it('ignores nonsense values', () => {
    const f = parseUserQuery({
      role: 'king',
      status: 'sleeping',
      subscription: 'maybe',
      twoFactor: 'yes',
      locked: '1',
      emailVerified: 'TRUE',
      dormantDays: '-5',
      sort: 'password',
      page: '0',
      perPage: 'lots',
    })
    expect(f).toEqual(emptyFilters())
    expect(parseUserQuery({ dormantDays: '99999' }).dormantDays).toBeNull()
    expect(parseUserQuery({ perPage: '1000' }).perPage).toBe(100)
    expect(parseUserQuery({ sort: '--id' }).sort).toBe('-id')
    expect(parseUserQuery({ q: ['first', 'second'] }).q).toBe('first')
  })

  it('writes only non-default values to the URL and reads them back', () => {
    expect(toRouteQuery(emptyFilters())).toEqual({})
    const f = { ...emptyFilters(), q: 'al', status: 'active' as const, dormantDays: 90, sort: 'display_name' as const, page: 2 }
    const q = toRouteQuery(f)
    expect(q).toEqual({ q: 'al', status: 'active', dormantDays: '90', sort: 'display_name', page: '2' })
    expect(parseUserQuery(q as Record<string, string>)).toEqual(f)
  })

  it('round-trips every filter through the URL', () => {
    const f = {
      ...emptyFilters(),
      role: 'super_admin' as const,
      subscription: 'none' as const,
      twoFactor: 'off' as const,
      locked: 'false' as const,
      emailVerified: 'true' as const,
      perPage: 100,
    }
    expect(parseUserQuery(toRouteQuery(f) as Record<string, string>)).toEqual(f)
  })

  it('sends page, perPage and sort to the list API and only set filters', () => {
    expect(toApiQuery(emptyFilters())).toEqual({ sort: '-id', page: 1, perPage: defaultPerPage })
    expect(toApiQuery({ ...emptyFilters(), q: '  x  ', locked: 'true' })).toEqual({
      q: 'x',
      locked: 'true',
      sort: '-id',
      page: 1,
      perPage: defaultPerPage,
    })
  })

  it('gives the bulk filter and the export query without paging', () => {
    const f = { ...emptyFilters(), status: 'pending' as const, page: 4, sort: 'updated' as const }
    expect(toFilter(f)).toEqual({ status: 'pending' })
    expect(toExportQuery(f)).toEqual({ status: 'pending', sort: 'updated' })
    expect(hasFilters(f)).toBe(true)
    expect(hasFilters({ ...emptyFilters(), page: 3 })).toBe(false)
  })

  it('splits and joins sort keys', () => {
    expect(splitSort('-last_login')).toEqual({ field: 'last_login', desc: true })
    expect(splitSort('display_name')).toEqual({ field: 'display_name', desc: false })
    expect(joinSort('updated', true)).toBe('-updated')
    expect(joinSort('id', false)).toBe('id')
  })
})
