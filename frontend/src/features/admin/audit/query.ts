// The audit list's filters and page live in the URL query; these helpers
// translate between the URL, the form and the API.
import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import type { AuditQuery } from '@/api/types'

export interface AuditFilters {
  actor: string
  action: string
  target: string
  /** ISO 8601 instants, or null for an open end. */
  from: string | null
  to: string | null
  page: number
  perPage: number
  /** The server's cursor when the page was reached by next/previous (kept only with a page above 1). */
  after: string | null
  before: string | null
}

export const perPageOptions = [10, 20, 50, 100] as const
export const defaultPerPage = 20

function first(value: LocationQuery[string] | undefined): string {
  const v = Array.isArray(value) ? value[0] : value
  return typeof v === 'string' ? v.trim() : ''
}

function positiveInt(raw: string, fallback: number): number {
  if (!/^\d+$/.test(raw)) return fallback
  const n = Number(raw)
  return Number.isSafeInteger(n) && n >= 1 ? n : fallback
}

function isoOrNull(raw: string): string | null {
  if (!raw) return null
  const ms = Date.parse(raw)
  return Number.isNaN(ms) ? null : new Date(ms).toISOString()
}

export function emptyFilters(): AuditFilters {
  return { actor: '', action: '', target: '', from: null, to: null, page: 1, perPage: defaultPerPage, after: null, before: null }
}

function cursor(raw: string): string | null {
  return raw && raw.length <= 256 && /^[A-Za-z0-9_-]+$/.test(raw) ? raw : null
}

/** The cursors that go with f: none on page 1. */
function cursors(f: AuditFilters): { after?: string; before?: string } {
  if (f.page <= 1) return {}
  if (f.after) return { after: f.after }
  if (f.before) return { before: f.before }
  return {}
}

/** Reads filters from the URL, ignoring values that make no sense. */
export function parseAuditQuery(query: LocationQuery): AuditFilters {
  const perPage = positiveInt(first(query.perPage), defaultPerPage)
  const page = positiveInt(first(query.page), 1)
  const after = page > 1 ? cursor(first(query.after)) : null
  return {
    actor: first(query.actor),
    action: first(query.action),
    target: first(query.target),
    from: isoOrNull(first(query.from)),
    to: isoOrNull(first(query.to)),
    page,
    perPage: Math.min(perPage, 100),
    after,
    before: page > 1 && !after ? cursor(first(query.before)) : null,
  }
}

/** The URL query for filters: empty values and defaults are left out. */
export function toRouteQuery(f: AuditFilters): LocationQueryRaw {
  const q: LocationQueryRaw = {}
  if (f.actor.trim()) q.actor = f.actor.trim()
  if (f.action.trim()) q.action = f.action.trim()
  if (f.target.trim()) q.target = f.target.trim()
  if (f.from) q.from = f.from
  if (f.to) q.to = f.to
  if (f.page > 1) q.page = String(f.page)
  if (f.perPage !== defaultPerPage) q.perPage = String(f.perPage)
  return { ...q, ...cursors(f) }
}

/** The query of GET /api/admin/audit. */
export function toApiQuery(f: AuditFilters): AuditQuery {
  const q: AuditQuery = { page: f.page, perPage: f.perPage }
  if (f.actor) q.actor = f.actor
  if (f.action) q.action = f.action
  if (f.target) q.target = f.target
  if (f.from) q.from = f.from
  if (f.to) q.to = f.to
  return { ...q, ...cursors(f) }
}
