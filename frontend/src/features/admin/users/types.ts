// Names for the schema types the accounts and billing screens use. Every type
// is derived from the generated schema.d.ts; nothing is written by hand.
import type { components, paths } from '@/api/schema'

type Schemas = components['schemas']
type JsonBody<T> = T extends { content: { 'application/json': infer B } } ? B : never

export type User = Schemas['User']
export type Role = User['role']
export type AccountStatus = User['status']
export type UserDetail = Schemas['UserDetail']
export type CreateUserRequest = Schemas['CreateUser']
export type UpdateUserRequest = Schemas['UpdateUser']
export type UserFilter = Schemas['UserFilter']
export type BulkRequest = Schemas['BulkRequest']
export type BulkAction = BulkRequest['action']
export type BulkParams = NonNullable<BulkRequest['params']>
export type BulkResult = Schemas['BulkResult']
export type BulkRefusal = Schemas['BulkRefusal']
export type LedgerEntry = Schemas['LedgerEntry']
export type LedgerList = Schemas['LedgerList']
export type Plan = Schemas['Plan']
export type PlanInput = Schemas['PlanInput']
export type PlanPatch = Schemas['PlanPatch']
export type SettingsGroup = Schemas['SettingsGroup']
export type BillingMode = NonNullable<SettingsGroup['mode']>
export type Session = Schemas['Session']
export type AdminLinkedIdentity = Schemas['AdminLinkedIdentity']
export type AuditEvent = Schemas['AuditEvent']

export type UserListQuery = NonNullable<paths['/api/admin/users']['get']['parameters']['query']>
export type UserSort = NonNullable<UserListQuery['sort']>
export type ExportQuery = NonNullable<paths['/api/admin/users/export.csv']['get']['parameters']['query']>
export type StatusRequest = JsonBody<paths['/api/admin/users/{publicId}/status']['post']['requestBody']>
export type BalanceRequest = JsonBody<paths['/api/admin/users/{publicId}/balance']['post']['requestBody']>
export type ResetPasswordRequest = JsonBody<paths['/api/admin/users/{publicId}/reset-password']['post']['requestBody']>
export type ResetPasswordResult = JsonBody<paths['/api/admin/users/{publicId}/reset-password']['post']['responses'][200]>

export const roles: readonly Role[] = ['user', 'admin', 'super_admin']
export const statuses: readonly AccountStatus[] = ['active', 'pending', 'suspended', 'deactivated']
