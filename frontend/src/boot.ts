// Imported first by main.ts: starts the two calls that every first
// navigation waits for (is setup pending, who is signed in) while the rest of
// the console is still being evaluated and mounted. The router guard then
// shares these requests instead of making them one after the other.
import { loadSession, loadSetupPending } from '@/stores/session'

// Errors are handled where the answers are used (the guard).
void loadSetupPending().catch(() => undefined)
void loadSession().catch(() => undefined)
