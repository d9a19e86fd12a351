import { describe, expect, it } from 'vitest'
import { defineComponent, h, nextTick, ref } from 'vue'
import { mount } from '@vue/test-utils'
import { confirmLeave, hasUnsavedChanges, useUnsavedChanges } from './useUnsavedChanges'
import { useApiErrors } from './useApiErrors'
import { ApiError } from '@/api/client'
import { createAppI18n } from '@/i18n'

describe('useUnsavedChanges', () => {
  it('asks before leaving while a form is dirty, and forgets a form that is gone', async () => {
    const dirty = ref(false)
    const wrapper = mount(defineComponent({ setup: () => { useUnsavedChanges(dirty); return () => h('div') } }))
    expect(hasUnsavedChanges()).toBe(false)
    const asked: string[] = []
    expect(confirmLeave('Leave?', (q) => { asked.push(q); return false })).toBe(true)
    expect(asked).toEqual([])
    dirty.value = true
    await nextTick()
    expect(confirmLeave('Leave?', (q) => { asked.push(q); return false })).toBe(false)
    expect(asked).toEqual(['Leave?'])
    const e = new Event('beforeunload', { cancelable: true })
    window.dispatchEvent(e)
    expect(e.defaultPrevented).toBe(true)
    wrapper.unmount()
    expect(hasUnsavedChanges()).toBe(false)
  })
})

describe('useApiErrors.clearOnEdit', () => {
  it('drops the error of a field as soon as its value changes', async () => {
    const form = ref({ email: 'bad', phone: 'x' })
    let api!: ReturnType<typeof useApiErrors>
    mount(defineComponent({ setup: () => { api = useApiErrors(); api.clearOnEdit(() => form.value); return () => h('div') } }), {
      global: { plugins: [createAppI18n('en')] },
    })
    api.capture(new ApiError(422, 'validation_failed', 'Some fields are not valid.', { email: 'must be an email address like name@example.com', phone: 'bad' }))
    expect(api.field('email').validationStatus).toBe('error')
    form.value.email = 'bad@'
    await nextTick()
    expect(api.field('email')).toEqual({})
    expect(api.field('phone').validationStatus).toBe('error')
  })
})
