import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { defineComponent } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import { NTooltip } from 'naive-ui'
import { mountWithApp } from '@/test/mount'
import SideMenu from './SideMenu.vue'

const Page = defineComponent({ render: () => null })

function router() {
  return createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/admin/users', name: 'admin-users', component: Page },
      { path: '/admin/users/:id', name: 'admin-user', component: Page, meta: { menu: 'admin-users' } },
      { path: '/admin/audit', name: 'admin-audit', component: Page },
    ],
  })
}

const items = [
  { name: 'admin-users', label: 'Accounts', testId: 'nav-accounts' },
  { name: 'admin-audit', label: 'Audit log', testId: 'nav-audit' },
]

describe('SideMenu (vertical)', () => {
  afterEach(() => {
    document.body.innerHTML = ''
  })

  it('is a list of links without a tooltip per item (issue 15: the first render of every admin page)', async () => {
    const r = router()
    await r.push('/admin/audit')
    const { wrapper } = mountWithApp(SideMenu, { props: { items }, plugins: [r] })
    await flushPromises()
    expect(wrapper.findAllComponents(NTooltip)).toHaveLength(0)
    const links = wrapper.findAll('a')
    expect(links.map((a) => a.text())).toEqual(['Accounts', 'Audit log'])
    expect(wrapper.find('[data-testid="nav-accounts"]').attributes('href')).toBe('/admin/users')
    expect(wrapper.find('[data-testid="nav-audit"]').attributes('aria-current')).toBe('page')
    expect(wrapper.find('[data-testid="nav-accounts"]').attributes('aria-current')).toBeUndefined()
    wrapper.unmount()
  })

  it("marks the item of a page without one of its own (an account's editor: Accounts)", async () => {
    const r = router()
    await r.push('/admin/users/abc')
    const { wrapper } = mountWithApp(SideMenu, { props: { items }, plugins: [r] })
    await flushPromises()
    expect(wrapper.find('[data-testid="nav-accounts"]').attributes('aria-current')).toBe('page')
    expect(wrapper.find('[data-testid="nav-accounts"]').classes()).toContain('side-menu-item--active')
    wrapper.unmount()
  })
})
