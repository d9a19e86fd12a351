import { afterEach, describe, expect, it, vi } from 'vitest'
import { prefetch, resetPrefetch, take } from './prefetch'

function deferred<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok
    reject = fail
  })
  return { promise, resolve, reject }
}

describe('prefetch and take', () => {
  afterEach(() => {
    resetPrefetch()
    vi.useRealTimers()
  })

  it('hands the started call to the page instead of calling again', async () => {
    const d = deferred<string>()
    const started = vi.fn(() => d.promise)
    const again = vi.fn(async () => 'second')
    prefetch('k', started)
    const taken = take('k', again)
    expect(taken.ready).toBeUndefined()
    d.resolve('first')
    expect(await taken.answer).toBe('first')
    expect(started).toHaveBeenCalledTimes(1)
    expect(again).not.toHaveBeenCalled()
  })

  it('gives an answer that is already in for the first render', async () => {
    prefetch('k', async () => 'in')
    await Promise.resolve()
    await Promise.resolve()
    const taken = take('k', async () => 'new')
    expect(taken.ready).toBe('in')
  })

  it('is taken once: a second page load calls again', async () => {
    prefetch('k', async () => 'first')
    expect(await take('k', async () => 'x').answer).toBe('first')
    expect(await take('k', async () => 'fresh').answer).toBe('fresh')
  })

  it('does not start the same key twice while one is waiting', () => {
    const run = vi.fn(async () => 1)
    prefetch('k', run)
    prefetch('k', run)
    expect(run).toHaveBeenCalledTimes(1)
  })

  it('keeps keys apart', async () => {
    prefetch('users:{"page":1}', async () => 'page 1')
    expect(await take('users:{"page":2}', async () => 'page 2').answer).toBe('page 2')
    expect(await take('users:{"page":1}', async () => 'again').answer).toBe('page 1')
  })

  it('drops a call older than ten seconds and asks again', async () => {
    vi.useFakeTimers()
    prefetch('k', async () => 'stale')
    vi.advanceTimersByTime(10_001)
    expect(await take('k', async () => 'fresh').answer).toBe('fresh')
  })

  it('passes a failure to the page that takes the call', async () => {
    const d = deferred<string>()
    prefetch('k', () => d.promise)
    d.reject(new Error('down'))
    await expect(take('k', async () => 'x').answer).rejects.toThrow('down')
  })
})
