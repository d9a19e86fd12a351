// Mounting helpers for component tests: i18n plus naive-ui's providers.
import { defineComponent, h, type Component } from 'vue'
import { mount } from '@vue/test-utils'
import { NConfigProvider, NDialogProvider, NMessageProvider } from 'naive-ui'
import { createAppI18n, type Locale } from '@/i18n'

export function mountWithApp<C extends Component>(
  component: C,
  options: { props?: Record<string, unknown>; locale?: Locale; plugins?: unknown[] } = {},
) {
  const i18n = createAppI18n(options.locale ?? 'en')
  const Host = defineComponent({
    setup() {
      return () =>
        h(NConfigProvider, null, () =>
          h(NMessageProvider, null, () => h(NDialogProvider, null, () => h(component as Component, options.props ?? {}))),
        )
    },
  })
  const wrapper = mount(Host, { global: { plugins: [i18n, ...((options.plugins ?? []) as [])] }, attachTo: document.body })
  return { wrapper, i18n, inner: () => wrapper.findComponent(component as Component) }
}
