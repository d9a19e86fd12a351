// Answers a page needs, started by the router once a navigation to the page
// is allowed, so that they arrive while the page's chunks are still loading
// instead of after the page has mounted. The page takes a started call once,
// by the same key; when its answer is already in, the page's first render is
// the final one (no spinner, no second render).
//
// A started call that is older than maxAgeMs (a navigation that went
// elsewhere) is dropped and made again, so a page never shows stale data.
const maxAgeMs = 10_000

interface Entry {
  at: number
  answer: Promise<unknown>
  /** The answer once it has arrived. */
  value?: unknown
}

const started = new Map<string, Entry>()

function fresh(e: Entry | undefined): e is Entry {
  return e !== undefined && Date.now() - e.at < maxAgeMs
}

/** Starts run() under key unless a recent call with that key is waiting. */
export function prefetch<T>(key: string, run: () => Promise<T>): void {
  for (const [k, e] of started) if (!fresh(e)) started.delete(k)
  if (started.has(key)) return
  const entry: Entry = { at: Date.now(), answer: run() }
  // A failure is reported by the page that takes the call.
  entry.answer.then(
    (value) => {
      entry.value = value
    },
    () => undefined,
  )
  started.set(key, entry)
}

export interface Taken<T> {
  /** The answer if it is already in (for the first render), else undefined. */
  ready: T | undefined
  /** The answer: the started call if recent, else a new call of run(). */
  answer: Promise<T>
}

/** Takes the call started under key (once) if it is recent, else calls run(). */
export function take<T>(key: string, run: () => Promise<T>): Taken<T> {
  const e = started.get(key)
  started.delete(key)
  if (fresh(e)) return { ready: e.value as T | undefined, answer: e.answer as Promise<T> }
  return { ready: undefined, answer: run() }
}

/** Test hook: forgets every started call. */
export function resetPrefetch(): void {
  started.clear()
}
