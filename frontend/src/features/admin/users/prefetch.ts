// The Accounts screen's first page of the list (and the billing settings it
// shows balances with), started by the router as soon as the navigation is
// allowed (see stores/prefetch.ts). The list is keyed by the API query, so
// the page takes it only when it asks for exactly that page.
import type { LocationQuery } from 'vue-router'
import { fetchEarlyFirst } from '@/api/early'
import { prefetch, take, type Taken } from '@/stores/prefetch'
import { listUsers } from './api'
import { parseUserQuery, toApiQuery } from './query'
import type { UserListQuery } from './types'
import { loadBilling } from './useBilling'

export type UserListPage = Awaited<ReturnType<typeof listUsers>>

function key(query: UserListQuery): string {
  return `users:${JSON.stringify(query)}`
}

export function prefetchAccountsScreen(routeQuery: LocationQuery): void {
  const query = toApiQuery(parseUserQuery(routeQuery))
  // The default first page may already be on its way (public/early.js).
  prefetch(key(query), () => listUsers(query, fetchEarlyFirst))
  // Errors show when the page asks again on mount.
  loadBilling().catch(() => undefined)
}

export function takeUserList(query: UserListQuery): Taken<UserListPage> {
  return take(key(query), () => listUsers(query))
}
