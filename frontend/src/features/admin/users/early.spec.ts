// public/early.js asks for the Accounts screen's default first page before
// the console runs; the page takes that answer only when it would send
// exactly the same request. These keep the two the same.
import { afterEach, describe, expect, it, vi } from 'vitest'
import earlyJs from '../../../../public/early.js?raw'
import { fetchEarlyFirst } from '@/api/early'
import { listUsers } from './api'
import { parseUserQuery, toApiQuery } from './query'



function listJson(): Response {
  return new Response(JSON.stringify({ items: [], total: 0, page: 1, perPage: 20 }), { headers: { 'Content-Type': 'application/json' } })
}

describe("early.js and the Accounts screen's first request", () => {
  afterEach(() => {
    delete window.__gatehouseEarly
  })

  it('asks for the list with the query the page sends for a URL without one', async () => {
    const asked = /var list = '([^']+)'/.exec(earlyJs)?.[1]
    expect(asked).toBeDefined()
    let sent = ''
    await listUsers(toApiQuery(parseUserQuery({})), (req) => {
      const url = new URL(req.url)
      sent = url.pathname + url.search
      return Promise.resolve(listJson())
    })
    expect(sent).toBe(asked)
  })

  it('the page takes the started answer once, and only for the same path and query', async () => {
    // A started answer is taken only in the page's first ten seconds; the
    // test files share one environment, which is older than that by now.
    vi.spyOn(performance, 'now').mockReturnValue(0)
    let started = 0
    const path = '/api/admin/users?sort=-id&page=1&perPage=20'
    window.__gatehouseEarly = {
      [path]: Promise.resolve().then(() => {
        started++
        return listJson()
      }),
    }
    const other = new Request('http://localhost/api/admin/users?sort=id&page=1&perPage=20')
    const realFetch = globalThis.fetch
    let network = 0
    globalThis.fetch = (() => {
      network++
      return Promise.resolve(listJson())
    }) as typeof fetch
    try {
      await fetchEarlyFirst(other)
      expect(network).toBe(1)
      await fetchEarlyFirst(new Request('http://localhost' + path))
      expect(started).toBe(1)
      expect(network).toBe(1)
      await fetchEarlyFirst(new Request('http://localhost' + path))
      expect(network).toBe(2)
    } finally {
      globalThis.fetch = realFetch
    }
  })

  it('a started call that settled as null (not an administrator) is made by the page', async () => {
    const path = '/api/admin/users?sort=-id&page=1&perPage=20'
    window.__gatehouseEarly = { [path]: Promise.resolve(null) }
    const realFetch = globalThis.fetch
    let network = 0
    globalThis.fetch = (() => {
      network++
      return Promise.resolve(listJson())
    }) as typeof fetch
    try {
      const res = await fetchEarlyFirst(new Request('http://localhost' + path))
      expect(res.status).toBe(200)
      expect(network).toBe(1)
    } finally {
      globalThis.fetch = realFetch
    }
  })
})
