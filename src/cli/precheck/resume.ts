import fs from 'node:fs'
import { parse } from 'csv-parse'
import { isFinal } from '../results.js'
import { UsageError } from '../usage-error.js'
import { RESULT_COLUMNS, type Format } from './format.js'
import { splitLines } from './lines.js'
import { MAX_RECORD_BYTES, type InputRow } from './rows.js'

/** One row of an earlier run's output. */
export interface PreviousRow {
  /** CSV: every column, the input's and the result's. */
  fields?: string[]
  /** NDJSON: the line as written. */
  text?: string
  reason: string
  /** NDJSON: the pair the line names. */
  business?: unknown
  user?: unknown
}

export interface PreviousOutput {
  /** The next row, or undefined past the last complete one. */
  next(): Promise<PreviousRow | undefined>
  close(): void
}

/**
 * The bytes of `file` up to its last newline: a run stopped mid-write leaves a partial last row, which a resumed
 * run must check again rather than keep.
 */
async function completeLength(file: string): Promise<number> {
  const handle = await fs.promises.open(file, 'r')
  try {
    const { size } = await handle.stat()
    const block = Buffer.alloc(64 * 1024)
    for (let end = size; end > 0; end -= block.length) {
      const start = Math.max(0, end - block.length)
      const { bytesRead } = await handle.read(block, 0, end - start, start)
      const nl = block.subarray(0, bytesRead).lastIndexOf(10)
      if (nl !== -1) return start + nl + 1
    }
    return 0
  } finally {
    await handle.close()
  }
}

/**
 * An existing `--out`, read row by row in step with the input; undefined when there is none. A CSV must carry
 * exactly the header this input's output would, so an output of another file is refused before anything is sent.
 */
export async function openPrevious(
  file: string,
  format: Format,
  header: readonly string[] | undefined,
): Promise<PreviousOutput | undefined> {
  if (!fs.existsSync(file)) return undefined
  const length = await completeLength(file)
  if (length === 0) return { next: async () => undefined, close: () => undefined }
  const stream = fs.createReadStream(file, { end: length - 1 })
  return format === 'csv' ? previousCsv(file, stream, header ?? []) : previousNdjson(file, stream)
}

async function previousCsv(
  file: string,
  stream: fs.ReadStream,
  header: readonly string[],
): Promise<PreviousOutput> {
  const parser = stream.pipe(parse({ bom: true, skip_empty_lines: true, max_record_size: MAX_RECORD_BYTES }))
  stream.on('error', (err) => parser.destroy(err))
  const records = parser[Symbol.asyncIterator]() as AsyncIterator<string[]>
  const refuse = (why: string): never => {
    parser.destroy()
    throw new UsageError(`--out ${file} ${why}: was it written for another input? Remove it to start afresh`)
  }
  const read = () =>
    records.next().catch((err: Error) => refuse(`is not a CSV this command wrote (${err.message})`))
  const first = await read()
  if (!first.done && first.value.join(',') !== header.join(','))
    refuse(`has the header ${first.value.join(',')}, not ${header.join(',')}`)
  const reasonAt = header.length - RESULT_COLUMNS.length + RESULT_COLUMNS.indexOf('reason')
  return {
    async next() {
      const next = await read()
      if (next.done) return undefined
      return { fields: next.value, reason: next.value[reasonAt] ?? '' }
    },
    close: () => parser.destroy(),
  }
}

function previousNdjson(file: string, stream: fs.ReadStream): PreviousOutput {
  const lines = splitLines(stream, MAX_RECORD_BYTES)
  return {
    async next() {
      for (;;) {
        const next = await lines.next()
        if (next.done) return undefined
        const { text, line } = next.value
        if (text.trim() === '') continue
        try {
          const body = JSON.parse(text) as { reason?: unknown; business?: unknown; user?: unknown }
          if (typeof body.reason === 'string')
            return { text, reason: body.reason, business: body.business, user: body.user }
        } catch {
          // Falls through to the refusal: a line this command did not write.
        }
        throw new UsageError(
          `--out ${file} line ${line} is not a result this command wrote; remove the file to start afresh`,
        )
      }
    },
    close: () => stream.destroy(),
  }
}

const digits = (v: unknown): string => (typeof v === 'string' ? v.replace(/\D/g, '') : '')

/** Whether a previous row answers this input row: the same input columns (CSV) or the same pair (NDJSON). */
export function samePair(prev: PreviousRow, row: InputRow): boolean {
  if (row.fields) return row.fields.every((f, i) => prev.fields?.[i] === f)
  const user = row.check?.user ?? row.rawUser
  const business = row.check?.business ?? row.rawBusiness
  return digits(prev.user) === digits(user) && digits(prev.business) === digits(business)
}

/** A previous row is kept only when it was final (decided, or invalid); every other row is checked again. */
export const keepable = (prev: PreviousRow | undefined): prev is PreviousRow =>
  prev !== undefined && isFinal(prev.reason)
