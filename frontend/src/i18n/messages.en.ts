// The English messages alone (messages.ts merges the features' files): the
// console's first script carries these, English being the fallback of every
// message. The build compiles this module like messages.ts
// (frontend/build/precompileMessages.ts): it is data only.
import { messages as all } from './messages'

export const messages = all.en
