// Vitest setup: both languages' messages from the start, as tests switch
// languages and mount components in Chinese synchronously. The console
// itself loads Chinese when it is needed (i18n/index.ts).
import { registerCatalogue } from '@/i18n'
import { messages } from '@/i18n/messages.zh-CN'

registerCatalogue('zh-CN', messages)

// Every component a test mounts is unmounted after it: the files share
// one environment (isolate: false in vite.config.ts), and a form left
// mounted would stay in module state such as the unsaved-changes registry.
// This file runs once per test file in that shared environment: the hook
// is registered again for each file's tests (enableAutoUnmount refuses a
// second call until disableAutoUnmount).
import { disableAutoUnmount, enableAutoUnmount } from '@vue/test-utils'
import { afterEach } from 'vitest'

disableAutoUnmount()
enableAutoUnmount(afterEach)
