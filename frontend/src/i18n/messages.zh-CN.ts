// The Simplified Chinese messages alone: a chunk of their own, loaded
// before the first render when the page opens in Chinese and on switching
// to Chinese (i18n/index.ts). The build compiles this module like
// messages.ts (frontend/build/precompileMessages.ts): it is data only.
import { messages as all } from './messages'

export const messages = all['zh-CN']
