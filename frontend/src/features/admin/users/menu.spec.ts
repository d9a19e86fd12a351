import { describe, expect, it } from 'vitest'
import { routes } from '@/router/routes'
import { adminMenuItems } from '../adminMenu'

describe('accounts and billing in the admin console', () => {
  it('lists Accounts first and Billing in the admin menu', () => {
    const names = adminMenuItems((k) => k).map((i) => i.name)
    expect(names[0]).toBe('admin-users')
    expect(names).toContain('admin-billing')
  })

  it('keeps the user page under the Accounts menu item', () => {
    const admin = routes.find((r) => r.path === '/admin')!
    const page = admin.children!.find((r) => r.name === 'admin-user')!
    expect(page.path).toBe('users/:publicId')
    expect(page.meta?.menu).toBe('admin-users')
  })
})
