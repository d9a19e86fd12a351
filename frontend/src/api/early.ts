// The answers public/early.js started before the console's scripts ran.
// Each is used once, by the first call of its path; later calls (a forced
// reload of the session) ask the server again.
type EarlyPath = '/api/me' | '/api/setup/status'
type EarlySlot = Partial<Record<EarlyPath, Promise<Response>>> | null

declare global {
  interface Window {
    __gatehouseEarly?: EarlySlot
  }
}

/** The started answer for path, once; undefined when none was started. */
export function takeEarly(path: EarlyPath): Promise<Response> | undefined {
  if (typeof window === 'undefined') return undefined
  const slot = window.__gatehouseEarly
  if (slot === undefined) {
    // early.js has not run (yet): from now on it must not start its own calls.
    window.__gatehouseEarly = null
    return undefined
  }
  const answer = slot?.[path]
  if (slot && answer) delete slot[path]
  return answer
}

/** A fetch for openapi-fetch that answers with the started response when there is one. */
export function earlyFetch(path: EarlyPath): ((input: Request) => Promise<Response>) | undefined {
  const answer = takeEarly(path)
  return answer ? () => answer : undefined
}
