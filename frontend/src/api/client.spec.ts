import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError, call, createApiClient, setUnauthorizedHandler, toApiError } from './client'

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

describe('toApiError', () => {
  it('maps the error shape with fields', () => {
    const err = toApiError(422, {
      error: { code: 'validation_failed', message: 'Check the fields.', fields: { newPassword: 'Too short.' } },
    })
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(422)
    expect(err.code).toBe('validation_failed')
    expect(err.message).toBe('Check the fields.')
    expect(err.fields).toEqual({ newPassword: 'Too short.' })
  })

  it('maps the error shape without fields', () => {
    const err = toApiError(401, { error: { code: 'invalid_credentials', message: 'Wrong username or password.' } })
    expect(err.code).toBe('invalid_credentials')
    expect(err.fields).toEqual({})
  })

  it('keeps the failure class and the accounts some codes carry', () => {
    const smtp = toApiError(422, { error: { code: 'smtp_failed', message: 'The server did not answer in time.', reason: 'timeout' } })
    expect(smtp.reason).toBe('timeout')
    const cut = toApiError(409, {
      error: { code: 'would_cut_off_super_admins', message: 'x', accounts: [{ publicId: 'p1', username: 'sam', role: 'super_admin' }] },
    })
    expect(cut.detail.accounts?.map((a) => a.username)).toEqual(['sam'])
    expect(toApiError(400, { error: { code: 'bad', message: 'Bad.' } }).reason).toBe('')
  })

  it('keeps only string field messages', () => {
    const err = toApiError(400, { error: { code: 'bad', message: 'Bad.', fields: { a: 'x', b: 3 } } })
    expect(err.fields).toEqual({ a: 'x' })
  })

  it.each([['<html>Bad gateway</html>'], [undefined], [{ message: 'no envelope' }], [{ error: 'flat' }]])(
    'falls back for a body that is not the error shape: %j',
    (body) => {
      const err = toApiError(502, body)
      expect(err.code).toBe('http_502')
      expect(err.message).toBe('')
      expect(err.status).toBe(502)
    },
  )
})

describe('call', () => {
  afterEach(() => setUnauthorizedHandler(null))

  it('returns the data of a success', async () => {
    const client = createApiClient(async () => json(200, { pending: true }))
    await expect(call(client.GET('/api/setup/status'))).resolves.toEqual({ pending: true })
  })

  it('sends JSON with same-origin credentials', async () => {
    const seen: Request[] = []
    const client = createApiClient(async (req) => {
      seen.push(req)
      return json(200, {})
    })
    await call(client.POST('/api/auth/login', { body: { identifier: 'alice', password: 'pw' } }))
    const req = seen[0]!
    expect(req.method).toBe('POST')
    expect(req.credentials).toBe('same-origin')
    expect(req.headers.get('Content-Type')).toBe('application/json')
    expect(await req.json()).toEqual({ identifier: 'alice', password: 'pw' })
  })

  it('throws ApiError with fields for a 422', async () => {
    const client = createApiClient(async () =>
      json(422, { error: { code: 'validation_failed', message: 'Invalid.', fields: { timezone: 'Unknown zone.' } } }),
    )
    const err = await call(client.PATCH('/api/me', { body: { timezone: 'Mars/Base' } })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).fields).toEqual({ timezone: 'Unknown zone.' })
  })

  it('resolves a 204 without data', async () => {
    const client = createApiClient(async () => new Response(null, { status: 204 }))
    await expect(call(client.POST('/api/auth/logout'))).resolves.toBeUndefined()
  })

  it('turns a fetch failure into a network ApiError', async () => {
    const client = createApiClient(async () => {
      throw new TypeError('Failed to fetch')
    })
    const err = (await call(client.GET('/api/me')).catch((e: unknown) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.isNetwork).toBe(true)
    expect(err.code).toBe('network_error')
  })

  it('reports a 401 of a signed-in call, but not of GET /api/me', async () => {
    const handler = vi.fn()
    setUnauthorizedHandler(handler)
    const client = createApiClient(async () => json(401, { error: { code: 'unauthorized', message: 'Sign in.' } }))
    await call(client.GET('/api/me')).catch(() => undefined)
    await call(client.POST('/api/auth/login', { body: { identifier: 'a', password: 'b' } })).catch(() => undefined)
    expect(handler).not.toHaveBeenCalled()
    await call(client.GET('/api/me/sessions')).catch(() => undefined)
    expect(handler).toHaveBeenCalledWith('/api/me/sessions')
  })
})
