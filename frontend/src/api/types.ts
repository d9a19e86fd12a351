// Names for the generated schema types. Nothing here is written by hand: every
// type is taken from schema.d.ts, which openapi-typescript generates.
import type { components, paths } from './schema'

type Schemas = components['schemas']
type JsonBody<T> = T extends { content: { 'application/json': infer B } } ? B : never

export type User = Schemas['User']
export type Role = User['role']
export type Session = Schemas['Session']
export type AuditEvent = Schemas['AuditEvent']
export type AuthOptions = Schemas['AuthOptions']

export type LoginRequest = JsonBody<paths['/api/auth/login']['post']['requestBody']>
export type LoginResponse = JsonBody<paths['/api/auth/login']['post']['responses'][200]>
export type SetupRequest = JsonBody<paths['/api/setup']['post']['requestBody']>
export type UpdateMeRequest = JsonBody<paths['/api/me']['patch']['requestBody']>
export type ChangePasswordRequest = JsonBody<paths['/api/me/password']['post']['requestBody']>
export type AuditQuery = NonNullable<paths['/api/admin/audit']['get']['parameters']['query']>
export type AuditPage = JsonBody<paths['/api/admin/audit']['get']['responses'][200]>
