import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises } from '@vue/test-utils'
import { NSelect } from 'naive-ui'
import { mountWithApp } from '@/test/mount'
import { emptyFilters } from './query'
import UserFilterBar from './UserFilterBar.vue'

// The Accounts screen's first render draws the filter selects as light
// stand-ins and mounts naive-ui's selects when the bar is first used
// (issue 15, time to interactive).
describe('UserFilterBar', () => {
  afterEach(() => {
    document.body.innerHTML = ''
  })

  function mountBar() {
    return mountWithApp(UserFilterBar, { props: { filters: { ...emptyFilters(), status: 'active' }, mode: 'self' } })
  }

  it('mounts no naive-ui select on its first render; stand-ins show the value or the placeholder', async () => {
    const { wrapper } = mountBar()
    await flushPromises()
    expect(wrapper.findAllComponents(NSelect)).toHaveLength(0)
    const stubs = [...document.querySelectorAll<HTMLElement>('.select-stub')]
    expect(stubs.map((s) => s.dataset.testid)).toEqual(['users-filter-role', 'users-filter-status', 'users-filter-2fa', 'users-filter-locked', 'users-filter-verified', 'users-sort'])
    for (const s of stubs) {
      expect(s.getAttribute('role')).toBe('combobox')
      expect(s.getAttribute('aria-expanded')).toBe('false')
      expect(s.tabIndex).toBe(0)
    }
    expect(document.querySelector('[data-testid="users-filter-status"]')?.textContent).toBe('Active')
    expect(document.querySelector('[data-testid="users-filter-role"]')?.textContent).toBe('Any')
  })

  it.each(['pointerenter', 'focusin', 'touchstart'])('puts the real selects in place on %s', async (type) => {
    const { wrapper } = mountBar()
    await flushPromises()
    document.querySelector('.filter-bar')!.dispatchEvent(new Event(type, { bubbles: type !== 'pointerenter' }))
    await flushPromises()
    expect(wrapper.findAllComponents(NSelect)).toHaveLength(6)
    expect(document.querySelectorAll('.select-stub')).toHaveLength(0)
  })

  it('moves focus from a stand-in to the select that replaces it', async () => {
    mountBar()
    await flushPromises()
    document.querySelector<HTMLElement>('[data-testid="users-filter-status"]')!.focus()
    await flushPromises()
    expect(document.activeElement?.closest('[data-testid="users-filter-status"]')).not.toBeNull()
    expect(document.activeElement?.classList.contains('n-base-selection')).toBe(true)
  })
})
