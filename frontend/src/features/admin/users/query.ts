// The account list's search, filters, sort and page live in the URL query;
// these helpers translate between the URL, the page and the API (list, CSV
// export and the bulk endpoint's filter).
import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import type { AccountStatus, ExportQuery, Role, UserFilter, UserListQuery, UserSort } from './types'
import { roles, statuses } from './types'

export type SubscriptionFilter = NonNullable<UserListQuery['subscription']>
export type OnOff = NonNullable<UserListQuery['twoFactor']>
export type YesNo = NonNullable<UserListQuery['locked']>

/** The sortable fields; the sort key is the field, prefixed with "-" for descending. */
export const sortFields = ['id', 'last_login', 'updated', 'display_name'] as const
export type SortField = (typeof sortFields)[number]

export interface UserListFilters {
  q: string
  role: Role | null
  status: AccountStatus | null
  subscription: SubscriptionFilter | null
  twoFactor: OnOff | null
  locked: YesNo | null
  emailVerified: YesNo | null
  /** No sign-in for at least this many days; null for no such filter. */
  dormantDays: number | null
  sort: UserSort
  page: number
  perPage: number
  /**
   * The server's cursor of the page before this one (after) or after it
   * (before), when it was reached by next/previous: such a page is read by
   * seeking, not by skipping rows. Kept only together with a page above 1;
   * any change of filter, sort or page size starts again at page 1.
   */
  after: string | null
  before: string | null
}

export const perPageOptions = [10, 20, 50, 100] as const
export const defaultPerPage = 20
export const defaultSort: UserSort = '-id'
export const maxDormantDays = 3650

const subscriptions: readonly SubscriptionFilter[] = ['none', 'active', 'expired']
const onOff: readonly OnOff[] = ['on', 'off']
const yesNo: readonly YesNo[] = ['true', 'false']

function first(value: LocationQuery[string] | undefined): string {
  const v = Array.isArray(value) ? value[0] : value
  return typeof v === 'string' ? v.trim() : ''
}

function positiveInt(raw: string): number | null {
  if (!/^\d+$/.test(raw)) return null
  const n = Number(raw)
  return Number.isSafeInteger(n) && n >= 1 ? n : null
}

function oneOf<T extends string>(raw: string, allowed: readonly T[]): T | null {
  return (allowed as readonly string[]).includes(raw) ? (raw as T) : null
}

export function isSort(raw: string): raw is UserSort {
  const field = raw.startsWith('-') ? raw.slice(1) : raw
  return (sortFields as readonly string[]).includes(field)
}

/** Splits a sort key into its field and direction. */
export function splitSort(sort: UserSort): { field: SortField; desc: boolean } {
  const desc = sort.startsWith('-')
  return { field: (desc ? sort.slice(1) : sort) as SortField, desc }
}

export function joinSort(field: SortField, desc: boolean): UserSort {
  return (desc ? `-${field}` : field) as UserSort
}

export function emptyFilters(): UserListFilters {
  return {
    q: '',
    role: null,
    status: null,
    subscription: null,
    twoFactor: null,
    locked: null,
    emailVerified: null,
    dormantDays: null,
    sort: defaultSort,
    page: 1,
    perPage: defaultPerPage,
    after: null,
    before: null,
  }
}

function cursor(raw: string): string | null {
  return raw && raw.length <= 1024 && /^[A-Za-z0-9_-]+$/.test(raw) ? raw : null
}

/** Reads the list state from the URL, ignoring values that make no sense. */
export function parseUserQuery(query: LocationQuery): UserListFilters {
  const sort = first(query.sort)
  const dormant = positiveInt(first(query.dormantDays))
  const page = positiveInt(first(query.page)) ?? 1
  const after = cursor(first(query.after))
  return {
    q: first(query.q).slice(0, 200),
    role: oneOf(first(query.role), roles),
    status: oneOf(first(query.status), statuses),
    subscription: oneOf(first(query.subscription), subscriptions),
    twoFactor: oneOf(first(query.twoFactor), onOff),
    locked: oneOf(first(query.locked), yesNo),
    emailVerified: oneOf(first(query.emailVerified), yesNo),
    dormantDays: dormant !== null && dormant <= maxDormantDays ? dormant : null,
    sort: isSort(sort) ? sort : defaultSort,
    page,
    perPage: Math.min(positiveInt(first(query.perPage)) ?? defaultPerPage, 100),
    after: page > 1 ? after : null,
    before: page > 1 && !after ? cursor(first(query.before)) : null,
  }
}

/** The cursors that go with f: none on page 1. */
function cursors(f: UserListFilters): { after?: string; before?: string } {
  if (f.page <= 1) return {}
  if (f.after) return { after: f.after }
  if (f.before) return { before: f.before }
  return {}
}

/** The URL query: empty values and defaults are left out. */
export function toRouteQuery(f: UserListFilters): LocationQueryRaw {
  const q: LocationQueryRaw = {}
  const filter = toFilter(f)
  for (const [key, value] of Object.entries(filter)) q[key] = String(value)
  if (f.sort !== defaultSort) q.sort = f.sort
  if (f.page > 1) q.page = String(f.page)
  if (f.perPage !== defaultPerPage) q.perPage = String(f.perPage)
  return { ...q, ...cursors(f) }
}

/**
 * The filter part alone, as the bulk endpoint takes it ("everything matching
 * the filter"). Only set keys are present.
 */
export function toFilter(f: UserListFilters): UserFilter & Omit<ExportQuery, 'sort'> {
  const out: UserFilter & Omit<ExportQuery, 'sort'> = {}
  const q = f.q.trim()
  if (q) out.q = q
  if (f.role) out.role = f.role
  if (f.status) out.status = f.status
  if (f.subscription) out.subscription = f.subscription
  if (f.twoFactor) out.twoFactor = f.twoFactor
  if (f.locked) out.locked = f.locked
  if (f.emailVerified) out.emailVerified = f.emailVerified
  if (f.dormantDays) out.dormantDays = f.dormantDays
  return out
}

/** The query of GET /api/admin/users. */
export function toApiQuery(f: UserListFilters): UserListQuery {
  return { ...toFilter(f), sort: f.sort, page: f.page, perPage: f.perPage, ...cursors(f) }
}

/** The query of GET /api/admin/users/export.csv: the filters and the sort, no page. */
export function toExportQuery(f: UserListFilters): ExportQuery {
  return { ...toFilter(f), sort: f.sort }
}

/** True when any filter (not sort or page) is set. */
export function hasFilters(f: UserListFilters): boolean {
  return Object.keys(toFilter(f)).length > 0
}
