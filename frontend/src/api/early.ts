// The answers public/early.js started before the console's scripts ran.
// Each is used once, by the first call of its exact path (with its query);
// later calls (a forced reload of the session, the next page of a list) ask
// the server again. A started call may settle as null (early.js decided not
// to make it after all, e.g. the list for someone who is not an
// administrator): the caller then makes its own.
type EarlySlot = Record<string, Promise<Response | null> | undefined> | null

declare global {
  interface Window {
    __gatehouseEarly?: EarlySlot
  }
}

/** The started answer for path, once; undefined when none was started. */
export function takeEarly(path: string): Promise<Response | null> | undefined {
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

/**
 * A fetch for openapi-fetch that answers with the started response when
 * there is one (and makes the request itself when that settled as null).
 */
export function earlyFetch(path: string): ((input: Request) => Promise<Response>) | undefined {
  const answer = takeEarly(path)
  return answer ? (input: Request) => answer.then((res) => res ?? fetch(input)) : undefined
}

/** How long after the page started a started answer is still fresh enough to show. */
const earlyMaxAgeMs = 10_000

/**
 * A fetch for openapi-fetch: a GET whose exact path and query early.js
 * started answers with that started response (once, and only within ten
 * seconds of the page's start, so a list is never shown stale); any other
 * request goes to the network.
 */
export function fetchEarlyFirst(input: Request): Promise<Response> {
  const url = new URL(input.url)
  const fresh = typeof performance !== 'undefined' && performance.now() < earlyMaxAgeMs
  const answer = input.method === 'GET' && fresh ? takeEarly(url.pathname + url.search) : undefined
  return answer ? answer.then((res) => res ?? fetch(input)) : fetch(input)
}
