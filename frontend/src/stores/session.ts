// Who is signed in (GET /api/me) and whether first-run setup is pending.
import { computed, reactive } from 'vue'
import { ApiError, api, call } from '@/api/client'
import { earlyFetch } from '@/api/early'
import type { Role, User } from '@/api/types'

interface SessionState {
  user: User | null
  /** True once GET /api/me has answered (signed in or not). */
  loaded: boolean
  /** null until GET /api/setup/status has answered. */
  setupPending: boolean | null
}

const state = reactive<SessionState>({ user: null, loaded: false, setupPending: null })

export function isAdminRole(role: Role | undefined | null): boolean {
  return role === 'admin' || role === 'super_admin'
}

// Calls in flight by name, so that callers arriving before the answer (the
// early start in boot.ts, then the router guard) share one request.
const inFlight = new Map<string, Promise<unknown>>()

function shared<T>(name: string, run: () => Promise<T>): Promise<T> {
  const current = inFlight.get(name)
  if (current) return current as Promise<T>
  const p = run()
  inFlight.set(name, p)
  const forget = () => {
    if (inFlight.get(name) === p) inFlight.delete(name)
  }
  p.then(forget, forget)
  return p
}

/** Loads the signed-in user once; 401 means anonymous. Other errors propagate. */
export function loadSession(force = false): Promise<User | null> {
  if (state.loaded && !force) return Promise.resolve(state.user)
  const run = async () => {
    try {
      state.user = await call(api.GET('/api/me', { fetch: force ? undefined : earlyFetch('/api/me') }))
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) state.user = null
      else throw err
    } finally {
      state.loaded = true
    }
    return state.user
  }
  // A forced reload must see changes made after a call already in flight.
  if (force) return run()
  return shared('me', run)
}

/** Asks the server once whether setup is still pending. */
export function loadSetupPending(force = false): Promise<boolean> {
  if (state.setupPending !== null && !force) return Promise.resolve(state.setupPending)
  const run = async () => {
    const answer = await call(api.GET('/api/setup/status', { fetch: force ? undefined : earlyFetch('/api/setup/status') }))
    state.setupPending = answer.pending
    return answer.pending
  }
  if (force) return run()
  return shared('setup', run)
}

export function markSetupDone(): void {
  state.setupPending = false
}

export function setUser(user: User | null): void {
  state.user = user
  state.loaded = true
}

/** Ends the session on the server (best effort) and forgets the user. */
export async function signOut(): Promise<void> {
  try {
    await call(api.POST('/api/auth/logout'))
  } finally {
    setUser(null)
  }
}

/** Test hook: back to the state of a fresh page load. */
export function resetSessionStore(): void {
  state.user = null
  state.loaded = false
  state.setupPending = null
  inFlight.clear()
}

export function useSession() {
  return {
    state,
    user: computed(() => state.user),
    isAdmin: computed(() => isAdminRole(state.user?.role)),
  }
}
