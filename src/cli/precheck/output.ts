import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import type { Writable } from 'node:stream'
import { stringify } from 'csv-stringify'
import type { CheckResult } from '../results.js'
import type { InputRow } from './rows.js'
import type { PreviousRow } from './resume.js'

/** Writes rows in the order it is given them; each write waits while the destination is full. */
export interface OutputWriter {
  /** A row just checked (or found invalid). */
  write(row: InputRow, result: CheckResult): Promise<void>
  /** A row of the previous output, unchanged: a resumed run keeps what was already decided. */
  keep(prev: PreviousRow): Promise<void>
  /** Flushes; closes the destination when `closeDest` was set. */
  end(): Promise<void>
}

/** RESULT_COLUMNS of one result, as CSV text (csv-stringify would write true as 1); empty when the answer has none. */
export function resultFields(result: CheckResult): string[] {
  const canRequest = result.can_request_permission
  return [
    String(result.allowed === true),
    result.reason,
    result.consent?.expires_at ?? '',
    result.decision_id ?? '',
    result.retry_at ?? '',
    canRequest === undefined || canRequest === null ? '' : String(canRequest),
  ]
}

export function createCsvWriter(dest: Writable, header: readonly string[], closeDest: boolean): OutputWriter {
  const stringifier = stringify()
  stringifier.pipe(dest, { end: closeDest })
  let failed: Error | undefined
  dest.on('error', (err) => {
    failed = err
    stringifier.destroy(err)
  })
  const put = async (record: readonly string[]) => {
    if (failed) throw failed
    if (!stringifier.write(record)) await once(stringifier, 'drain')
  }
  const headerWritten = put(header)
  return {
    async write(row, result) {
      await headerWritten
      await put([...(row.fields ?? []), ...resultFields(result)])
    },
    async keep(prev) {
      await headerWritten
      await put(prev.fields ?? [])
    },
    async end() {
      await headerWritten
      const ended = once(stringifier, 'end')
      stringifier.end()
      await ended
      await settle(dest, closeDest)
    },
  }
}

/**
 * NDJSON: each decision exactly as the gate wrote it; an error result (invalid, undetermined) gets the row's
 * `business` and `user` as the input gave them, since the gate's error bodies do not name the pair.
 */
export function createNdjsonWriter(dest: Writable, closeDest: boolean): OutputWriter {
  let failed: Error | undefined
  dest.on('error', (err) => (failed = err))
  const put = async (text: string) => {
    if (failed) throw failed
    if (!dest.write(`${text}\n`)) await once(dest, 'drain')
  }
  return {
    async write(row, result) {
      const body =
        result.business === undefined && result.user === undefined
          ? { business: row.rawBusiness, user: row.rawUser, ...result }
          : result
      await put(JSON.stringify(body))
    },
    async keep(prev) {
      await put(prev.text ?? '')
    },
    async end() {
      await settle(dest, closeDest)
    },
  }
}

async function settle(dest: Writable, close: boolean): Promise<void> {
  if (close) {
    dest.end()
    await finished(dest)
  } else {
    await new Promise<void>((resolve, reject) => dest.write('', (err) => (err ? reject(err) : resolve())))
  }
}
