import { describe, expect, it } from 'vitest'
import { defaultPerPage, emptyFilters, parseAuditQuery, toApiQuery, toRouteQuery } from './query'

describe('audit query', () => {
  it('parses filters and page from the URL', () => {
    const f = parseAuditQuery({
      actor: ' alice ',
      action: 'auth.',
      target: 'bob',
      from: '2026-01-01T00:00:00Z',
      to: '2026-01-02T00:00:00.000Z',
      page: '3',
      perPage: '50',
    })
    expect(f).toEqual({
      actor: 'alice',
      action: 'auth.',
      target: 'bob',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-02T00:00:00.000Z',
      page: 3,
      perPage: 50,
      after: null,
      before: null,
    })
  })

  it('ignores nonsense values', () => {
    const f = parseAuditQuery({ page: '-2', perPage: 'lots', from: 'yesterday', to: '' })
    expect(f).toEqual(emptyFilters())
    expect(parseAuditQuery({ page: '1.5' }).page).toBe(1)
    expect(parseAuditQuery({ perPage: '1000' }).perPage).toBe(100)
  })

  it('writes only non-default values to the URL and reads them back', () => {
    expect(toRouteQuery(emptyFilters())).toEqual({})
    const f = { ...emptyFilters(), action: 'auth.login', page: 2, perPage: 50 }
    const q = toRouteQuery(f)
    expect(q).toEqual({ action: 'auth.login', page: '2', perPage: '50' })
    expect(parseAuditQuery(q as Record<string, string>)).toEqual(f)
  })

  it('always sends page and perPage to the API', () => {
    expect(toApiQuery(emptyFilters())).toEqual({ page: 1, perPage: defaultPerPage })
    expect(toApiQuery({ ...emptyFilters(), actor: 'alice', from: '2026-01-01T00:00:00.000Z' })).toEqual({
      page: 1,
      perPage: defaultPerPage,
      actor: 'alice',
      from: '2026-01-01T00:00:00.000Z',
    })
  })

  it('keeps a next/previous cursor only with a page above 1', () => {
    const f = parseAuditQuery({ action: 'user.', page: '3', after: 'eyJ2IjoxfQ' })
    expect(f.after).toBe('eyJ2IjoxfQ')
    expect(toApiQuery(f)).toMatchObject({ action: 'user.', page: 3, after: 'eyJ2IjoxfQ' })
    expect(toRouteQuery({ ...f, page: 1 })).toEqual({ action: 'user.' })
    expect(parseAuditQuery({ page: '1', before: 'abc' }).before).toBeNull()
    expect(parseAuditQuery({ page: '2', after: 'bad cursor' }).after).toBeNull()
  })
})
