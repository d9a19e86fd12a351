import { describe, expect, it } from 'vitest'
import { isServerPath, sanitizeNext } from './next'

describe('sanitizeNext', () => {
  const cases: Array<[unknown, string]> = [
    // honoured: same-origin absolute paths
    ['/account', '/account'],
    ['/admin/audit?action=auth.login&page=2', '/admin/audit?action=auth.login&page=2'],
    ['/account/security#sessions', '/account/security#sessions'],
    [['/account', '/admin'], '/account'],
    ['/a/../admin', '/admin'],
    // rejected: other hosts, schemes, tricks
    ['//evil.example', '/'],
    ['//evil.example/path', '/'],
    ['/\\evil.example', '/'],
    ['\\\\evil.example', '/'],
    ['/ok\\..\\x', '/'],
    ['https://evil.example/', '/'],
    ['http:/evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['data:text/html,hi', '/'],
    ['account', '/'],
    ['', '/'],
    ['/\t/evil.example', '/'],
    ['/\n/evil.example', '/'],
    [' /account', '/'],
    [undefined, '/'],
    [null, '/'],
    [42, '/'],
    [[], '/'],
  ]
  it.each(cases)('sanitizeNext(%j) = %j', (input, expected) => {
    expect(sanitizeNext(input)).toBe(expected)
  })
})

describe('isServerPath', () => {
  it.each([
    ['/api/forward-auth/sign-in?rd=https%3A%2F%2Fapp.example.com%2F', true],
    ['/oauth/authorize?client_id=x', true],
    ['/admin/users', false],
    ['/account', false],
    ['/apiary', false],
  ])('isServerPath(%j) = %j', (input, expected) => {
    expect(isServerPath(input)).toBe(expected)
  })
})
