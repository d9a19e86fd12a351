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
      after: null,
      before: null,
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

  it('keeps a next/previous cursor in the URL only with a page above 1', () => {
    const f = parseUserQuery({ status: 'active', page: '4', after: 'eyJ2IjoxfQ' })
    expect(f.after).toBe('eyJ2IjoxfQ')
    expect(toApiQuery(f)).toEqual({ status: 'active', sort: '-id', page: 4, perPage: defaultPerPage, after: 'eyJ2IjoxfQ' })
    expect(toRouteQuery(f)).toEqual({ status: 'active', page: '4', after: 'eyJ2IjoxfQ' })
    // A filter change goes back to page 1, and the cursor goes with it.
    expect(toApiQuery({ ...f, role: 'admin', page: 1 })).toEqual({ status: 'active', role: 'admin', sort: '-id', page: 1, perPage: defaultPerPage })
    expect(parseUserQuery({ page: '1', before: 'abc' }).before).toBeNull()
    expect(parseUserQuery({ page: '2', before: 'abc' }).before).toBe('abc')
    expect(parseUserQuery({ page: '2', after: 'a', before: 'b' })).toMatchObject({ after: 'a', before: null })
    expect(parseUserQuery({ page: '2', after: 'not a cursor!' }).after).toBeNull()
  })
})
