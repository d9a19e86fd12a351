// The one API client of the console: openapi-fetch typed by the generated
// schema, plus the mapping of the server's error shape into ApiError.
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema'

type Schemas = components['schemas']
export type ErrorBody = Schemas['Error']

/** An error answered by the API (or a failure to reach it). */
export class ApiError extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number
  /** Machine-readable code from the server, e.g. "invalid_credentials". */
  readonly code: string
  /** Per-field messages, keyed by request field name. */
  readonly fields: Record<string, string>
  /** The whole error object, for codes that carry more (impact, accounts, reason). */
  readonly detail: Partial<ErrorBody['error']>

  constructor(status: number, code: string, message: string, fields: Record<string, string> = {}, detail: Partial<ErrorBody['error']> = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.fields = fields
    this.detail = detail
  }

  /** A failure class some codes carry (discovery_failed, smtp_failed), e.g. "timeout"; "" when none. */
  get reason(): string {
    return this.detail.reason ?? ''
  }

  /** True when the server could not be reached at all. */
  get isNetwork(): boolean {
    return this.status === 0
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false
  const inner = (value as { error: unknown }).error
  return (
    typeof inner === 'object' &&
    inner !== null &&
    typeof (inner as { code?: unknown }).code === 'string' &&
    typeof (inner as { message?: unknown }).message === 'string'
  )
}

/** Turns a non-2xx answer (parsed body or raw text) into an ApiError. */
export function toApiError(status: number, body: unknown): ApiError {
  if (isErrorBody(body)) {
    const fields: Record<string, string> = {}
    for (const [name, message] of Object.entries(body.error.fields ?? {})) {
      if (typeof message === 'string') fields[name] = message
    }
    return new ApiError(status, body.error.code, body.error.message, fields, body.error)
  }
  // Not our shape: a proxy page, an empty body, ... keep the status, no server text.
  return new ApiError(status, `http_${status}`, '')
}

/** Wraps a thrown fetch failure (offline, DNS, aborted) as an ApiError. */
export function networkError(): ApiError {
  return new ApiError(0, 'network_error', '')
}

type UnauthorizedHandler = (path: string) => void
let onUnauthorized: UnauthorizedHandler | null = null

/**
 * Registers what to do when a signed-in call answers 401 (session revoked or
 * expired elsewhere). Calls that decide sign-in state themselves are exempt.
 */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  onUnauthorized = handler
}

const exemptFrom401 = ['/api/me', '/api/auth/', '/api/setup']

const unauthorizedMiddleware: Middleware = {
  onResponse({ response, schemaPath }) {
    if (response.status !== 401 || !onUnauthorized) return undefined
    const exempt = exemptFrom401.some((p) => (p.endsWith('/') ? schemaPath.startsWith(p) : schemaPath === p))
    if (!exempt) onUnauthorized(schemaPath)
    return undefined
  },
}

/** Creates a client; tests pass their own fetch. */
export function createApiClient(fetchImpl?: (input: Request) => Promise<Response>) {
  const client = createClient<paths>({
    baseUrl: '',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    // Resolve fetch at call time so tests can stub globalThis.fetch.
    fetch: fetchImpl ?? ((input: Request) => globalThis.fetch(input)),
  })
  client.use(unauthorizedMiddleware)
  return client
}

/** The shared client. */
export const api = createApiClient()

/** The shape of every openapi-fetch answer. */
type FetchResult = { data?: unknown; error?: unknown; response: Response }

/** The data of the success branch; `void` for answers without a body (204). */
export type SuccessData<R> = R extends { data: infer D; error?: never } ? ([D] extends [never] ? void : D) : never

/**
 * Awaits an openapi-fetch call and returns its data, or throws ApiError.
 * Usage: `const me = await call(api.GET('/api/me'))`.
 */
export async function call<R extends FetchResult>(request: Promise<R>): Promise<SuccessData<R>> {
  let result: R
  try {
    result = await request
  } catch (err) {
    if (err instanceof ApiError) throw err
    throw networkError()
  }
  if (result.error !== undefined || !result.response.ok) {
    throw toApiError(result.response.status, result.error)
  }
  return result.data as SuccessData<R>
}
