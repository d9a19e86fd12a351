// Who is signed in (GET /api/me) and whether first-run setup is pending.
import { computed, reactive } from 'vue'
import { ApiError, api, call } from '@/api/client'
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

/** Loads the signed-in user once; 401 means anonymous. Other errors propagate. */
export async function loadSession(force = false): Promise<User | null> {
  if (state.loaded && !force) return state.user
  try {
    state.user = await call(api.GET('/api/me'))
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) state.user = null
    else throw err
  } finally {
    state.loaded = true
  }
  return state.user
}

/** Asks the server once whether setup is still pending. */
export async function loadSetupPending(force = false): Promise<boolean> {
  if (state.setupPending !== null && !force) return state.setupPending
  const answer = await call(api.GET('/api/setup/status'))
  state.setupPending = answer.pending
  return answer.pending
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
}

export function useSession() {
  return {
    state,
    user: computed(() => state.user),
    isAdmin: computed(() => isAdminRole(state.user?.role)),
  }
}
