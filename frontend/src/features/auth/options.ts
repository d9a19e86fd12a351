// GET /api/auth/options for the sign-in and registration pages, which the
// router starts with the navigation (see stores/prefetch.ts).
import { api, call } from '@/api/client'
import type { AuthOptions } from '@/api/types'
import { prefetch, take, type Taken } from '@/stores/prefetch'

const key = 'auth-options'

function request(): Promise<AuthOptions> {
  return call(api.GET('/api/auth/options'))
}

export function prefetchAuthOptions(): void {
  prefetch(key, request)
}

export function takeAuthOptions(): Taken<AuthOptions> {
  return take(key, request)
}
