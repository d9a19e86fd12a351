import { describe, expect, it } from 'vitest'
import { createAppI18n } from '@/i18n'
import { invalidDomains, isDomain, normaliseDomains } from './domains'
import { fromSeconds, toSeconds } from './durations'
import { buildSigninSummary, type Translate } from './signinSummary'
import type { AdminSignIn } from './api'

describe('durations', () => {
  it.each([
    [60, { value: 1, unit: 'minutes' }],
    [900, { value: 15, unit: 'minutes' }],
    [3600, { value: 1, unit: 'hours' }],
    [5400, { value: 90, unit: 'minutes' }],
    [86400, { value: 1, unit: 'days' }],
    [7 * 86400, { value: 7, unit: 'days' }],
    [36 * 3600, { value: 36, unit: 'hours' }],
    [0, { value: 0, unit: 'minutes' }],
    [90, { value: 1.5, unit: 'minutes' }],
  ] as const)('%i seconds shows as %j', (seconds, expected) => {
    expect(fromSeconds(seconds)).toEqual(expected)
  })

  it('converts units to whole seconds', () => {
    expect(toSeconds(15, 'minutes')).toBe(900)
    expect(toSeconds(8, 'hours')).toBe(28800)
    expect(toSeconds(365, 'days')).toBe(31536000)
    expect(toSeconds(1.5, 'minutes')).toBe(90)
    expect(toSeconds(0.001, 'minutes')).toBe(0)
    expect(toSeconds(null, 'days')).toBe(0)
  })

  it('round-trips', () => {
    for (const s of [60, 300, 900, 3600, 7200, 86400, 604800, 31536000]) {
      const d = fromSeconds(s)
      expect(toSeconds(d.value, d.unit)).toBe(s)
    }
  })
})

describe('allowed domains', () => {
  it('lower-cases, trims, drops "@" and duplicates, splits lists', () => {
    expect(normaliseDomains([' Example.COM ', '@example.com', 'a.org, b.org', 'c.net d.net', '*.e.io', 'f.dev.', ''])).toEqual([
      'example.com',
      'a.org',
      'b.org',
      'c.net',
      'd.net',
      'e.io',
      'f.dev',
    ])
  })

  it('tells domain names from other text', () => {
    expect(isDomain('example.com')).toBe(true)
    expect(isDomain('mail.example.co.uk')).toBe(true)
    expect(isDomain('xn--bcher-kva.example')).toBe(true)
    expect(invalidDomains(['example.com', 'localhost', 'exa mple.com', '-bad.com', 'a..b'])).toEqual([
      'localhost',
      'exa mple.com',
      '-bad.com',
      'a..b',
    ])
  })
})

describe('sign-in summary', () => {
  const en = createAppI18n('en').global.t as unknown as Translate
  const zh = createAppI18n('zh-CN').global.t as unknown as Translate

  const two: AdminSignIn = {
    total: 3,
    paths: [
      { path: 'username', admins: 3 },
      { path: 'email', admins: 2 },
    ],
  }

  it('says how many administrators can use each path', () => {
    const s = buildSigninSummary(two, en)
    expect(s.text).toBe('3 administrators can sign in with a username and password; 2 with email and password')
    expect(s.warnings).toEqual([])
    expect(buildSigninSummary(two, zh).text).toBe('3 名管理员可以使用用户名和密码登录；2 名使用邮箱和密码')
  })

  it('warns with one usable path or one administrator', () => {
    const s = buildSigninSummary({ total: 1, paths: [{ path: 'username', admins: 1 }, { path: 'email', admins: 0 }] }, en)
    expect(s.text).toBe('1 administrator can sign in with a username and password; 0 with email and password')
    expect(s.warnings).toEqual(['onePath', 'oneAdmin'])
  })

  it('warns loudest when nobody can sign in', () => {
    const s = buildSigninSummary({ total: 0, paths: [] }, en)
    expect(s.text).toBe('No sign-in method is on.')
    expect(s.warnings).toEqual(['noAdmins'])
  })

  it('names providers', () => {
    const s = buildSigninSummary({ total: 2, paths: [{ path: 'provider', slug: 'corp', name: 'Corp SSO', admins: 2 }] }, en)
    expect(s.text).toBe('2 administrators can sign in with Corp SSO')
  })
})
