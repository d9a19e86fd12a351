import { api, call } from '@/api/client'
import type { AuditQuery } from '@/api/types'

export function listAudit(query: AuditQuery) {
  return call(api.GET('/api/admin/audit', { params: { query } }))
}
