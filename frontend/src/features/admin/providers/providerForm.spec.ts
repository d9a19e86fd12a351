import { describe, expect, it } from 'vitest'
import type { IdentityProvider } from './api'
import { emptyForm, formFromProvider, logoProblem, moveItem, parseScopes, providerErrorKey, providerStartUrl, toRequest } from './providerForm'

describe('moveItem', () => {
  it('moves up and down and clamps at the ends', () => {
    expect(moveItem(['a', 'b', 'c'], 1, -1)).toEqual(['b', 'a', 'c'])
    expect(moveItem(['a', 'b', 'c'], 1, 1)).toEqual(['a', 'c', 'b'])
    expect(moveItem(['a', 'b', 'c'], 0, -1)).toEqual(['a', 'b', 'c'])
    expect(moveItem(['a', 'b', 'c'], 2, 1)).toEqual(['a', 'b', 'c'])
  })
  it('does not change its input', () => {
    const list = ['a', 'b']
    moveItem(list, 0, 1)
    expect(list).toEqual(['a', 'b'])
  })
})

describe('toRequest', () => {
  it('sends the secret only when typed and splits scopes', () => {
    const form = { ...emptyForm(), slug: ' Corp ', name: 'Corp', clientId: 'cid', scopes: 'openid, email  email profile' }
    const body = toRequest(form)
    expect(body.slug).toBe('corp')
    expect(body.scopes).toEqual(['openid', 'email', 'profile'])
    expect('clientSecret' in body).toBe(false)
    expect(toRequest({ ...form, clientSecret: 's3cret' }).clientSecret).toBe('s3cret')
  })
  it('round-trips a stored provider without its secret', () => {
    const p = {
      id: 1, slug: 'gh', name: 'GitHub', type: 'oauth2', logoUrl: '', clientId: 'c', clientSecretSet: true, issuerUrl: '',
      authorizationUrl: 'https://a', tokenUrl: 'https://t', userinfoUrl: 'https://u', jwksUrl: '', scopes: ['read:user'],
      fieldMapping: { subject: 'id', username: 'login', displayName: 'name', email: 'email', emailVerified: '' },
      loginEnabled: true, registrationEnabled: false, defaultRole: 'user', autoLinkByEmail: false, sortOrder: 0,
      callbackUrl: 'https://x/api/auth/oidc/gh/callback', linkedAccounts: 0, createdAt: '', updatedAt: '',
    } satisfies IdentityProvider
    const body = toRequest(formFromProvider(p))
    expect(body.scopes).toEqual(['read:user'])
    expect(body.fieldMapping?.subject).toBe('id')
    expect(body.clientSecret).toBeUndefined()
  })
  it('gives each type its usual defaults', () => {
    expect(emptyForm('oidc').fieldMapping.subject).toBe('sub')
    expect(emptyForm('oauth2').fieldMapping.subject).toBe('id')
    expect(parseScopes(emptyForm('oidc').scopes)).toContain('openid')
  })
})

describe('logoProblem', () => {
  it('accepts small images of the allowed types', () => {
    expect(logoProblem({ type: 'image/png', size: 1000 })).toBeNull()
    expect(logoProblem({ type: 'image/svg+xml', size: 1000 })).toBeNull()
    expect(logoProblem({ type: 'image/gif', size: 1000 })).toBe('type')
    expect(logoProblem({ type: 'image/webp', size: 200 * 1024 })).toBe('size')
  })
})

describe('providerStartUrl', () => {
  it('carries next only when it leads somewhere', () => {
    expect(providerStartUrl('corp')).toBe('/api/auth/oidc/corp/start')
    expect(providerStartUrl('corp', '/')).toBe('/api/auth/oidc/corp/start')
    expect(providerStartUrl('corp', '/admin/users?q=a')).toBe('/api/auth/oidc/corp/start?next=%2Fadmin%2Fusers%3Fq%3Da')
    expect(providerStartUrl('a b')).toBe('/api/auth/oidc/a%20b/start')
  })
})

describe('providerErrorKey', () => {
  it('maps known codes, falls back for others, ignores none', () => {
    expect(providerErrorKey('state_invalid')).toBe('providerSignIn.errors.state_invalid')
    expect(providerErrorKey('<script>')).toBe('providerSignIn.errors.generic')
    expect(providerErrorKey(['login_disabled'])).toBe('providerSignIn.errors.login_disabled')
    expect(providerErrorKey(undefined)).toBeNull()
    expect(providerErrorKey('')).toBeNull()
  })
})
