// Pure helpers of the identity-provider screens: the editor's form model
// and its request body, list reordering, logo files, provider start URLs
// and the sign-in page's error codes.
import type { FieldMapping, IdentityProvider, ProviderInput } from './api'

export type ProviderType = 'oidc' | 'oauth2'

export interface ProviderForm {
  slug: string
  name: string
  type: ProviderType
  logoUrl: string
  clientId: string
  /** Write-only: empty keeps the stored secret. */
  clientSecret: string
  issuerUrl: string
  authorizationUrl: string
  tokenUrl: string
  userinfoUrl: string
  jwksUrl: string
  /** Space-separated, as people type them. */
  scopes: string
  fieldMapping: FieldMapping
  loginEnabled: boolean
  registrationEnabled: boolean
  defaultRole: 'user' | 'admin'
  autoLinkByEmail: boolean
}

export const oidcMapping: FieldMapping = {
  subject: 'sub',
  username: 'preferred_username',
  displayName: 'name',
  email: 'email',
  emailVerified: 'email_verified',
}

/** A typical plain OAuth2 API (GitHub-like field names). */
export const oauth2Mapping: FieldMapping = { subject: 'id', username: 'login', displayName: 'name', email: 'email', emailVerified: '' }

export function emptyForm(type: ProviderType = 'oidc'): ProviderForm {
  return {
    slug: '',
    name: '',
    type,
    logoUrl: '',
    clientId: '',
    clientSecret: '',
    issuerUrl: '',
    authorizationUrl: '',
    tokenUrl: '',
    userinfoUrl: '',
    jwksUrl: '',
    scopes: type === 'oidc' ? 'openid email profile' : '',
    fieldMapping: { ...(type === 'oidc' ? oidcMapping : oauth2Mapping) },
    loginEnabled: true,
    registrationEnabled: false,
    defaultRole: 'user',
    autoLinkByEmail: false,
  }
}

export function formFromProvider(p: IdentityProvider): ProviderForm {
  return {
    slug: p.slug,
    name: p.name,
    type: p.type,
    logoUrl: p.logoUrl,
    clientId: p.clientId,
    clientSecret: '',
    issuerUrl: p.issuerUrl,
    authorizationUrl: p.authorizationUrl,
    tokenUrl: p.tokenUrl,
    userinfoUrl: p.userinfoUrl,
    jwksUrl: p.jwksUrl,
    scopes: p.scopes.join(' '),
    fieldMapping: { ...p.fieldMapping },
    loginEnabled: p.loginEnabled,
    registrationEnabled: p.registrationEnabled,
    defaultRole: p.defaultRole,
    autoLinkByEmail: p.autoLinkByEmail,
  }
}

export function parseScopes(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s, i, all) => s !== '' && all.indexOf(s) === i)
}

/** The create/patch body. The secret is sent only when typed. */
export function toRequest(form: ProviderForm): ProviderInput {
  const body: ProviderInput = {
    slug: form.slug.trim().toLowerCase(),
    name: form.name.trim(),
    type: form.type,
    logoUrl: form.logoUrl.trim(),
    clientId: form.clientId.trim(),
    issuerUrl: form.issuerUrl.trim(),
    authorizationUrl: form.authorizationUrl.trim(),
    tokenUrl: form.tokenUrl.trim(),
    userinfoUrl: form.userinfoUrl.trim(),
    jwksUrl: form.jwksUrl.trim(),
    scopes: parseScopes(form.scopes),
    fieldMapping: { ...form.fieldMapping },
    loginEnabled: form.loginEnabled,
    registrationEnabled: form.registrationEnabled,
    defaultRole: form.defaultRole,
    autoLinkByEmail: form.autoLinkByEmail,
  }
  if (form.clientSecret !== '') body.clientSecret = form.clientSecret
  return body
}

/** A copy of list with the item at index moved by delta (clamped). */
export function moveItem<T>(list: readonly T[], index: number, delta: number): T[] {
  const out = list.slice()
  const to = Math.min(Math.max(index + delta, 0), out.length - 1)
  if (index < 0 || index >= out.length || to === index) return out
  const [item] = out.splice(index, 1)
  out.splice(to, 0, item as T)
  return out
}

/** Logo uploads the server accepts (it checks the bytes again). */
export const logoTypes = ['image/png', 'image/jpeg', 'image/svg+xml', 'image/webp']
/** The whole data: URL must stay under 64 KB; base64 grows by a third. */
export const maxLogoFileBytes = 46 * 1024

export type LogoProblem = 'type' | 'size' | null

export function logoProblem(file: { type: string; size: number }): LogoProblem {
  if (!logoTypes.includes(file.type)) return 'type'
  if (file.size > maxLogoFileBytes) return 'size'
  return null
}

/** The URL that starts a provider sign-in, carrying a same-origin next. */
export function providerStartUrl(slug: string, next?: string | null): string {
  const base = `/api/auth/oidc/${encodeURIComponent(slug)}/start`
  return next && next !== '/' ? `${base}?next=${encodeURIComponent(next)}` : base
}

/** Error codes a provider round trip can end with (/login?error=<code>). */
export const providerErrorCodes = [
  'state_invalid',
  'provider_unavailable',
  'provider_denied',
  'token_exchange_failed',
  'id_token_missing',
  'id_token_invalid',
  'nonce_mismatch',
  'userinfo_failed',
  'subject_missing',
  'third_party_disabled',
  'login_disabled',
  'registration_disabled',
  'email_in_use',
  'privileged_account_link',
  'account_unavailable',
  'account_suspended',
  'account_deactivated',
  'email_unverified',
  'link_session_mismatch',
  'identity_in_use',
  'already_linked',
  'server_error',
] as const

/** The i18n key explaining an error code from the URL, or null for none. */
export function providerErrorKey(raw: unknown): string | null {
  const code = Array.isArray(raw) ? raw[0] : raw
  if (typeof code !== 'string' || code === '') return null
  return (providerErrorCodes as readonly string[]).includes(code) ? `providerSignIn.errors.${code}` : 'providerSignIn.errors.generic'
}
