// Vitest setup: both languages' messages from the start, as tests switch
// languages and mount components in Chinese synchronously. The console
// itself loads Chinese when it is needed (i18n/index.ts).
import { registerCatalogue } from '@/i18n'
import { messages } from '@/i18n/messages.zh-CN'

registerCatalogue('zh-CN', messages)
