import { afterEach, describe, expect, it } from 'vitest'
import { CsvStreamScanner, ExportError, fetchExport, filenameOf, parseMarkerLine } from './exportCsv'

const header = 'public_id,username,display_name\n'

function scan(...parts: string[]): CsvStreamScanner {
  const s = new CsvStreamScanner()
  for (const p of parts) s.feed(p)
  s.finish()
  return s
}

describe('parseMarkerLine', () => {
  it('reads the code and the rows written', () => {
    expect(parseMarkerLine('#gatehouse-export-incomplete,read_failed,5000')).toEqual({ code: 'read_failed', rows: 5000 })
    expect(parseMarkerLine('#gatehouse-export-incomplete,read_failed,12\r')).toEqual({ code: 'read_failed', rows: 12 })
  })
  it('is null for any other line', () => {
    expect(parseMarkerLine('abc,def,1')).toBeNull()
    expect(parseMarkerLine('#gatehouse-export-incompleteX,a,1')).toBeNull()
  })
})

describe('CsvStreamScanner', () => {
  it('counts data rows, not the header, across any split', () => {
    const text = header + 'p1,alice,Alice\np2,bob,"Bob, Jr."\n'
    for (let cut = 0; cut <= text.length; cut++) {
      const s = scan(text.slice(0, cut), text.slice(cut))
      expect(s.rows).toBe(2)
      expect(s.marker).toBeNull()
      expect(s.endsOnRecord).toBe(true)
    }
  })

  it('does not end a record at a line break inside quotes', () => {
    const s = scan(header, 'p1,alice,"two\nlines"\np2,"a ""quoted""\n# not a marker",x\n')
    expect(s.rows).toBe(2)
    expect(s.marker).toBeNull()
  })

  it('finds the failure line after the rows, split anywhere', () => {
    const text = header + 'p1,alice,Alice\np2,bob,Bob\n\n#gatehouse-export-incomplete,read_failed,2\n'
    for (let cut = 0; cut <= text.length; cut++) {
      const s = scan(text.slice(0, cut), text.slice(cut))
      expect(s.marker).toEqual({ code: 'read_failed', rows: 2 })
      expect(s.rows).toBe(2)
    }
  })

  it('finds a failure line without its final line break', () => {
    expect(scan(header, 'p1,a,b\n\n#gatehouse-export-incomplete,write_failed,1').marker).toEqual({ code: 'write_failed', rows: 1 })
  })

  it('tells a file cut mid-record', () => {
    expect(scan(header, 'p1,alice,Al').endsOnRecord).toBe(false)
    expect(scan(header, 'p1,alice,"open quote\n').endsOnRecord).toBe(false)
  })
})

describe('filenameOf', () => {
  it('takes the server name, or a default', () => {
    expect(filenameOf('attachment; filename="gatehouse-users-20261130-170000.csv"')).toBe('gatehouse-users-20261130-170000.csv')
    expect(filenameOf(null)).toBe('gatehouse-users.csv')
  })
})

function streamOf(parts: string[], failAtEnd: boolean): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  let i = 0
  return new ReadableStream({
    pull(ctl) {
      if (i < parts.length) ctl.enqueue(enc.encode(parts[i++]))
      else if (failAtEnd) ctl.error(new TypeError('network error'))
      else ctl.close()
    },
  })
}

function mockFetch(parts: string[], failAtEnd = false, status = 200): void {
  globalThis.fetch = (async () =>
    new Response(streamOf(parts, failAtEnd), {
      status,
      headers: { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="x.csv"' },
    })) as typeof fetch
}

async function failureOf(p: Promise<unknown>) {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(ExportError)
    return (err as ExportError).failure
  }
  throw new Error('expected a failure')
}

describe('fetchExport', () => {
  const realFetch = globalThis.fetch
  afterEach(() => {
    globalThis.fetch = realFetch
  })

  it('resolves with the complete file and reports progress', async () => {
    mockFetch([header, 'p1,a,b\n', 'p2,c,d\n'])
    const seen: number[] = []
    const res = await fetchExport('/x', (n) => seen.push(n))
    expect(res.rows).toBe(2)
    expect(res.filename).toBe('x.csv')
    expect(await res.blob.text()).toBe(header + 'p1,a,b\np2,c,d\n')
    expect(seen.at(-1)).toBe(2)
  })

  it('fails on the marker even though the cut follows it', async () => {
    mockFetch([header, 'p1,a,b\n', '\n#gatehouse-export-incomplete,read_failed,1\n'], true)
    expect(await failureOf(fetchExport('/x', () => {}))).toEqual({ kind: 'incomplete', code: 'read_failed', rows: 1 })
  })

  it('fails on a cut stream without a marker', async () => {
    mockFetch([header, 'p1,a,b\n', 'p2,c'], true)
    expect(await failureOf(fetchExport('/x', () => {}))).toEqual({ kind: 'cut', rows: 1 })
  })

  it('fails on a clean end in the middle of a record', async () => {
    mockFetch([header, 'p1,a,b\np2,c'])
    expect(await failureOf(fetchExport('/x', () => {}))).toEqual({ kind: 'cut', rows: 1 })
  })
})
