import type { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import { UsageError } from '../usage-error.js'
import { checkPhone, checkUser, csvLayout, type CsvLayout } from './format.js'
import { splitLines } from './lines.js'

/** Bound on one input record (bytes): a pair of numbers needs far less; a bigger one is not a lead list. */
export const MAX_RECORD_BYTES = 64 * 1024

/** One row of the input, in input order. */
export interface InputRow {
  /** Line of the input where the row ends (1-based), for messages. */
  line: number
  /** Bytes of the input up to the end of this row, for progress. */
  endByte: number
  /** CSV: the row's fields, as many as the header has. */
  fields?: string[]
  /** The numbers as written in the input (NDJSON output and resume compare them). */
  rawBusiness?: unknown
  rawUser?: unknown
  /** The normalized pair to check; set unless `invalid` is. */
  check?: { business: string; user: string }
  /** Why the row cannot be checked (reason `invalid_request`), said as the gate would say it. */
  invalid?: string
}

export interface RowSource {
  /** CSV: the header as read; NDJSON: undefined. */
  header?: string[]
  rows: AsyncIterable<InputRow>
}

/** Checks the pair of a row, filling `check` or `invalid`. */
function withPair(row: InputRow, business: unknown, user: unknown): InputRow {
  const b = checkPhone('business', business)
  const u = checkUser(user)
  if ('invalid' in b) row.invalid = b.invalid
  else if ('invalid' in u) row.invalid = u.invalid
  else row.check = { business: b.value, user: u.value }
  return row
}

/**
 * A CSV with a header: the header is read and checked before this resolves (a missing `user` column is a
 * UsageError, before anything is sent); rows then stream, one record at a time, with backpressure.
 */
export async function openCsv(input: Readable, business: string | undefined): Promise<RowSource> {
  const parser = input.pipe(
    parse({
      info: true,
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      max_record_size: MAX_RECORD_BYTES,
    }),
  )
  input.on('error', (err) => parser.destroy(err))
  const records = parser[Symbol.asyncIterator]() as AsyncIterator<{
    record: string[]
    info: { lines: number; bytes: number }
  }>
  const first = await records.next().catch(csvError)
  if (first.done) throw new UsageError('the input is empty: expected a CSV header with a user column')
  const header = first.value.record
  let layout: CsvLayout
  try {
    layout = csvLayout(header, business)
  } catch (err) {
    parser.destroy()
    throw err
  }
  async function* rows(): AsyncGenerator<InputRow> {
    try {
      for (;;) {
        const next = await records.next().catch(csvError)
        if (next.done) return
        const { record, info } = next.value
        const fields = header.map((_, i) => record[i] ?? '')
        const row: InputRow = { line: info.lines, endByte: info.bytes, fields }
        row.rawBusiness = business ?? fields[layout.businessIndex ?? 0]
        row.rawUser = fields[layout.userIndex]
        if (record.length !== header.length) {
          row.invalid = `the row has ${record.length} fields, the header ${header.length}`
          yield row
        } else yield withPair(row, row.rawBusiness, row.rawUser)
      }
    } finally {
      parser.destroy()
    }
  }
  return { header, rows: rows() }
}

/** A broken CSV (an unclosed quote, a record past the bound) stops the run: later rows cannot be trusted. */
function csvError(err: unknown): never {
  const e = err as { code?: string; lines?: number; message?: string }
  if (e.code?.startsWith('CSV_')) throw new UsageError(`the CSV is malformed: ${e.message ?? e.code}`)
  throw err
}

/** NDJSON of `{business, user}`, one object a line; blank lines are skipped. */
export function openNdjson(input: Readable, business: string | undefined): RowSource {
  async function* rows(): AsyncGenerator<InputRow> {
    for await (const line of splitLines(input, MAX_RECORD_BYTES)) {
      if (!line.tooLong && line.text.trim() === '') continue
      const row: InputRow = { line: line.line, endByte: line.endByte }
      if (line.tooLong) {
        row.invalid = `the line is longer than ${MAX_RECORD_BYTES} bytes`
        yield row
        continue
      }
      let value: unknown
      try {
        value = JSON.parse(line.text)
      } catch {
        row.invalid = 'the line is not JSON; expected {"business": "+91...", "user": "+91..."}'
        yield row
        continue
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        row.invalid = 'the line is not a JSON object; expected {"business": "+91...", "user": "+91..."}'
        yield row
        continue
      }
      const pair = value as { business?: unknown; user?: unknown }
      row.rawUser = pair.user
      row.rawBusiness = pair.business ?? business
      if (business !== undefined && pair.business !== undefined) {
        const own = checkPhone('business', pair.business)
        if (!('value' in own) || own.value !== business) {
          row.invalid = 'business differs from --business'
          yield row
          continue
        }
      }
      yield withPair(row, row.rawBusiness, row.rawUser)
    }
  }
  return { rows: rows() }
}
