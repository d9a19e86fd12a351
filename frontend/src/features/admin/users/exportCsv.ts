// The CSV export of the Accounts list, downloaded through fetch so that the
// console can show its progress and tell a complete file from a failed one.
//
// The server streams the file; when reading or writing fails part way it
// can no longer change the status line, so it ends the file with a line
// "#gatehouse-export-incomplete,CODE,ROWS" and cuts the transfer (see
// ExportUsers in server/api/users.go and the export in openapi.yaml). A
// plain download link saved such a file as if it were complete. Here the
// stream is read as it arrives: rows are counted (CSV records, quotes
// respected), the marker line or a cut stream is an ExportFailure, and only
// a complete file is saved.
//
// Memory: the file is kept as the received chunks and saved as one Blob
// (an object URL the browser downloads). That is the file's size in the
// browser's memory or its blob storage: about 100 MB for 1,000,000
// accounts, acceptable for an administrator's console; the server side
// streams in constant memory either way.

import { toApiError, type ApiError } from '@/api/client'

/** The first cell of the server's failure line. */
export const exportFailedMarker = '#gatehouse-export-incomplete'

/** What the failure line says: the server's code and the rows it wrote. */
export interface ExportMarker {
  code: string
  rows: number
}

/** Parses one line; null unless it is the server's failure line. */
export function parseMarkerLine(line: string): ExportMarker | null {
  const trimmed = line.replace(/\r$/, '')
  if (!trimmed.startsWith(exportFailedMarker + ',') && trimmed !== exportFailedMarker) return null
  const [, code = '', rows = ''] = trimmed.split(',')
  const n = Number.parseInt(rows, 10)
  return { code: code || 'unknown', rows: Number.isFinite(n) && n >= 0 ? n : 0 }
}

/**
 * Counts the data rows of a CSV file fed in pieces (the header line is not
 * a row) and notices the failure line. A line break inside a quoted cell
 * does not end a record; no data record starts with "#" (its first cell is
 * a public ID), so a record that does is the marker.
 */
export class CsvStreamScanner {
  /** Complete records seen, the header included. */
  private records = 0
  private inQuotes = false
  private atRecordStart = true
  /** The text of a record that starts with "#", while it is read. */
  private hashLine: string | null = null
  /** The last character fed, to tell whether the file ended on a record boundary. */
  private last = ''
  marker: ExportMarker | null = null

  /** Data rows so far (complete records after the header). */
  get rows(): number {
    return Math.max(0, this.records - 1)
  }

  /** True when everything fed ends exactly after a record. */
  get endsOnRecord(): boolean {
    return !this.inQuotes && (this.last === '\n' || this.last === '')
  }

  feed(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!
      if (this.hashLine !== null) {
        if (ch === '\n') {
          this.marker = parseMarkerLine(this.hashLine) ?? this.marker
          this.hashLine = null
          this.atRecordStart = true
        } else {
          this.hashLine += ch
        }
        continue
      }
      if (this.atRecordStart && !this.inQuotes && ch === '#') {
        this.hashLine = ''
        this.hashLine += ch
        this.atRecordStart = false
        continue
      }
      if (ch === '"') {
        this.inQuotes = !this.inQuotes // "" inside quotes toggles twice
      } else if (ch === '\n' && !this.inQuotes) {
        if (!this.atRecordStart) this.records++
        this.atRecordStart = true
        continue
      }
      this.atRecordStart = false
    }
    if (text.length > 0) this.last = text[text.length - 1]!
  }

  /** Ends the input: a failure line without its line break still counts. */
  finish(): void {
    if (this.hashLine !== null) {
      this.marker = parseMarkerLine(this.hashLine) ?? this.marker
      this.hashLine = null
    }
  }
}

/** Why an export did not produce a file. */
export type ExportFailure =
  | { kind: 'incomplete'; code: string; rows: number } // the server's failure line
  | { kind: 'cut'; rows: number } // the transfer ended early without it
  | { kind: 'refused'; status: number; error: ApiError } // an error answer before any row (its code and params, worded by the console)
  | { kind: 'aborted'; rows: number } // the administrator cancelled

export class ExportError extends Error {
  constructor(readonly failure: ExportFailure) {
    super(`export failed: ${failure.kind}`)
  }
}

export interface ExportResult {
  blob: Blob
  filename: string
  rows: number
}

/** The file name of a Content-Disposition header, or a default. */
export function filenameOf(disposition: string | null): string {
  const m = /filename="?([^";]+)"?/i.exec(disposition ?? '')
  return m?.[1] ?? 'gatehouse-users.csv'
}

/**
 * Downloads the export at url, calling onProgress with the rows received so
 * far. Resolves with the complete file; rejects with an ExportError when
 * the server refused, marked the file incomplete, or the stream was cut.
 */
export async function fetchExport(url: string, onProgress: (rows: number) => void, signal?: AbortSignal): Promise<ExportResult> {
  let res: Response
  try {
    res = await fetch(url, { credentials: 'same-origin', signal })
  } catch (err) {
    if (signal?.aborted) throw new ExportError({ kind: 'aborted', rows: 0 })
    throw new ExportError({ kind: 'cut', rows: 0 })
  }
  if (!res.ok || !res.body) {
    let body: unknown = null
    try {
      body = await res.json()
    } catch {
      // not JSON: toApiError keeps the status only
    }
    throw new ExportError({ kind: 'refused', status: res.status, error: toApiError(res.status, body) })
  }
  const scanner = new CsvStreamScanner()
  const decoder = new TextDecoder()
  const chunks: Uint8Array[] = []
  const reader = res.body.getReader()
  let cut = false
  for (;;) {
    let part: ReadableStreamReadResult<Uint8Array>
    try {
      part = await reader.read()
    } catch {
      cut = true
      break
    }
    if (part.done) break
    chunks.push(part.value)
    scanner.feed(decoder.decode(part.value, { stream: true }))
    onProgress(scanner.rows)
  }
  scanner.feed(decoder.decode())
  scanner.finish()
  if (scanner.marker) throw new ExportError({ kind: 'incomplete', code: scanner.marker.code, rows: scanner.marker.rows })
  if (signal?.aborted) throw new ExportError({ kind: 'aborted', rows: scanner.rows })
  if (cut || !scanner.endsOnRecord) throw new ExportError({ kind: 'cut', rows: scanner.rows })
  const blob = new Blob(chunks as BlobPart[], { type: res.headers.get('Content-Type') ?? 'text/csv' })
  return { blob, filename: filenameOf(res.headers.get('Content-Disposition')), rows: scanner.rows }
}

/** Hands blob to the browser as a download named filename. */
export function saveBlob(blob: Blob, filename: string): void {
  const href = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = href
  a.download = filename
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  a.remove()
  // The download has its own reference by now; free ours a little later.
  setTimeout(() => URL.revokeObjectURL(href), 60_000)
}
