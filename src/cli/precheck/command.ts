import fs from 'node:fs'
import path from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { EXIT, INVALID_REQUEST, type CheckResult } from '../results.js'
import { UsageError } from '../usage-error.js'
import { createChecker, type BatchPort } from './checker.js'
import { businessOption, formatOf, RESULT_COLUMNS } from './format.js'
import { createCsvWriter, createNdjsonWriter, type OutputWriter } from './output.js'
import { runPipeline, type Outcome } from './pipeline.js'
import { createProgress } from './progress.js'
import { openPrevious } from './resume.js'
import type { RetryPolicy } from './retry.js'
import { openCsv, openNdjson, type InputRow } from './rows.js'
import { createTally } from './summary.js'

/** The gate takes at most 1000 checks a batch request (docs/api.md). */
export const CHUNK_SIZE = 1000
export const MAX_CONCURRENCY = 32
/** Invalid rows named on stderr, at most; the rest are only counted (and are in the output). */
const MAX_INVALID_LINES = 1000

export interface PrecheckOptions {
  file: string
  business?: string
  out?: string
  format?: string
  concurrency: number
}

export interface PrecheckIo {
  stdin: Readable
  stdout: Writable
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
}

export interface PrecheckDeps {
  client: BatchPort
  io: PrecheckIo
  retry: RetryPolicy
  progressIntervalMs?: number
  /** Interrupt (SIGINT): stop reading, write what is decided, keep the rest of a previous output. */
  signal?: AbortSignal
}

/** `consent-gate precheck`: exit 0 when every valid row was decided, 2 when some stayed undetermined. */
export async function precheck(opts: PrecheckOptions, deps: PrecheckDeps): Promise<number> {
  const { io } = deps
  const format = formatOf(opts.file, opts.format)
  const business = businessOption(opts.business)
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1 || opts.concurrency > MAX_CONCURRENCY)
    throw new UsageError(`--concurrency must be an integer from 1 to ${MAX_CONCURRENCY}`)
  if (opts.out !== undefined && opts.file !== '-' && path.resolve(opts.out) === path.resolve(opts.file))
    throw new UsageError('--out must not be the input file')

  const { input, totalBytes } = await openInput(opts.file, io.stdin)
  const source = format === 'csv' ? await openCsv(input, business) : openNdjson(input, business)
  const header = source.header && [...source.header, ...RESULT_COLUMNS]
  const previous = opts.out === undefined ? undefined : await openPrevious(opts.out, format, header)
  // A resumed run writes beside the previous output and replaces it at the end, so a failure never loses it.
  const target = opts.out === undefined ? undefined : previous ? `${opts.out}.partial` : opts.out
  // Opened here, so a directory that does not exist is a one-line error before anything is sent.
  const dest = target === undefined ? io.stdout : fs.createWriteStream('', { fd: openOutput(target) })
  const writer: OutputWriter =
    format === 'csv'
      ? createCsvWriter(dest, header ?? [], target !== undefined)
      : createNdjsonWriter(dest, target !== undefined)

  const tally = createTally()
  const progress = createProgress({ stream: io.stderr, totalBytes, intervalMs: deps.progressIntervalMs })
  let invalidNamed = 0
  const reportInvalid = (row: InputRow, result: CheckResult) => {
    if (++invalidNamed > MAX_INVALID_LINES) return
    const more = invalidNamed === MAX_INVALID_LINES ? ' (further invalid rows are only counted)' : ''
    io.stderr.write(`line ${row.line}: ${INVALID_REQUEST}: ${result.message ?? ''}${more}\n`)
  }
  const emit = async (row: InputRow, outcome: Outcome) => {
    if ('kept' in outcome) {
      tally.add(outcome.kept.reason, true)
      await writer.keep(outcome.kept)
    } else {
      tally.add(outcome.result.reason, false)
      if (outcome.result.reason === INVALID_REQUEST) reportInvalid(row, outcome.result)
      await writer.write(row, outcome.result)
    }
    progress.row(row.endByte)
  }

  const checker = createChecker({
    client: deps.client,
    concurrency: opts.concurrency,
    retry: deps.retry,
    sleep: (ms) => sleep(ms, deps.signal),
    onRetry: (rows, delayMs) => progress.retry(rows, delayMs),
  })
  let interrupted = false
  try {
    ;({ interrupted } = await runPipeline({
      rows: source.rows,
      previous,
      check: (pairs) => checker.check(pairs),
      chunkSize: CHUNK_SIZE,
      // Two chunks a request slot: one in flight, one answered and waiting for an earlier one to be written.
      maxBuffered: CHUNK_SIZE * (2 * opts.concurrency + 1),
      emit,
      signal: deps.signal,
    }))
    await writer.end()
    if (target !== undefined && opts.out !== undefined && target !== opts.out)
      await fs.promises.rename(target, opts.out)
  } catch (err) {
    dest.destroy()
    if (target !== undefined && target !== opts.out) await fs.promises.rm(target, { force: true })
    throw err
  } finally {
    progress.stop()
    previous?.close()
    input.destroy()
  }
  io.stderr.write(`${tally.table()}\n`)
  if (interrupted) {
    io.stderr.write('interrupted: run the same command again to check the remaining rows\n')
    return EXIT.interrupted
  }
  const undetermined = tally.undetermined()
  if (undetermined > 0) {
    io.stderr.write(
      `${undetermined} rows stayed undetermined: run the same command again to check them again\n`,
    )
    return EXIT.undetermined
  }
  return EXIT.ok
}

function openOutput(file: string): number {
  try {
    return fs.openSync(file, 'w')
  } catch (err) {
    throw new UsageError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
  }
}

async function openInput(file: string, stdin: Readable): Promise<{ input: Readable; totalBytes?: number }> {
  if (file === '-') return { input: stdin }
  const stat = await fs.promises.stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(
      `cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : (err.code ?? err.message)}`,
    )
  })
  if (!stat.isFile()) throw new UsageError(`${file} is not a file`)
  return { input: fs.createReadStream(file), totalBytes: stat.size }
}

/** A pause that an interrupt ends at once (it rejects, and the rows it held stay unwritten). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('interrupted'))
    const timer = setTimeout(done, ms)
    function done() {
      signal?.removeEventListener('abort', abort)
      resolve()
    }
    function abort() {
      clearTimeout(timer)
      reject(new Error('interrupted'))
    }
    signal?.addEventListener('abort', abort, { once: true })
  })
}
