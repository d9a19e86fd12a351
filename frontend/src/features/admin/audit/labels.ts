import type { AuditEvent } from '@/api/types'

/** Who did it: username, else public ID, else the given word for "system". */
export function actorLabel(e: Pick<AuditEvent, 'actorUsername' | 'actorPublicId'>, system: string): string {
  return e.actorUsername || e.actorPublicId || system
}

/** What it was done to: the stored label, else the public ID. */
export function targetLabel(e: Pick<AuditEvent, 'targetLabel' | 'targetPublicId' | 'targetType'>): string {
  return e.targetLabel || e.targetPublicId || ''
}
