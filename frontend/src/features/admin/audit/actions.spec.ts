// Every audit action the server writes (the AuditAction enum of the OpenAPI
// document, kept equal to the source by TestAuditActions_EveryActionIsDocumented)
// has a readable name in each language, and settings changes name the group.
import { describe, expect, it } from 'vitest'
import openapiText from '../../../../../server/api/openapi.json?raw'
import { i18n, supportedLocales } from '@/i18n'
import { actionOptions, auditActionMessages, auditActions, describeAction } from './actions'

const doc = JSON.parse(openapiText) as { components: { schemas: Record<string, { enum?: string[] }> } }
const documented = doc.components.schemas.AuditAction?.enum ?? []

describe('audit action names', () => {
  it('cover exactly the documented actions', () => {
    expect(documented.length).toBeGreaterThan(60)
    expect([...auditActions].sort()).toEqual([...documented].sort())
  })

  it.each(supportedLocales)('are all worded in %s, with the settings groups', (locale) => {
    const names = auditActionMessages[locale]
    expect(documented.filter((a) => !(names.auditActions as Record<string, string>)[a]?.trim())).toEqual([])
    for (const g of ['signin', 'registration', 'email', 'human-verification', 'security', 'password-policy', 'billing']) {
      expect(names.auditSettingsGroups[g]).toBeTruthy()
    }
    for (const a of documented) expect(names.auditActionGroups[a.slice(0, a.indexOf('.'))]).toBeTruthy()
  })

  it('say which settings group changed', () => {
    const { t, te } = i18n.global
    const e = { action: 'settings.updated', details: { group: 'password-policy' } }
    i18n.global.locale.value = 'zh-CN'
    expect(describeAction(e, t, te)).toBe('设置已更改：密码策略')
    i18n.global.locale.value = 'en'
    expect(describeAction(e, t, te)).toBe('Settings changed: Password policy')
    expect(describeAction({ action: 'brand.new' }, t, te)).toBe('brand.new')
    const options = actionOptions(t, te)
    expect(options.find((g) => g.key === 'settings')?.children.map((o) => o.value)).toEqual(['settings.', 'settings.email_test', 'settings.updated'])
  })
})
