import { describe, expect, it } from 'vitest'
import { routes } from '@/router/routes'
import type { RouteRecordRaw } from 'vue-router'
import { adminMenuItems } from './adminMenu'

function names(list: RouteRecordRaw[]): string[] {
  return list.flatMap((r) => [...(typeof r.name === 'string' ? [r.name] : []), ...names(r.children ?? [])])
}

describe('admin menu', () => {
  it('links only to routes that exist under /admin (no dead items)', () => {
    const admin = routes.find((r) => r.path === '/admin')!
    const existing = names(admin.children ?? [])
    const items = adminMenuItems((k) => k)
    expect(items.length).toBeGreaterThan(0)
    for (const item of items) expect(existing).toContain(item.name)
  })

  it('has Login & auth and the audit log', () => {
    const names = adminMenuItems((k) => k).map((i) => i.name)
    expect(names).toContain('admin-auth')
    expect(names).toContain('admin-audit')
  })
})
