import { INVALID_REQUEST, type CheckResult } from '../results.js'
import { UsageError } from '../usage-error.js'
import type { Pair } from './checker.js'
import { keepable, samePair, type PreviousOutput, type PreviousRow } from './resume.js'
import type { InputRow } from './rows.js'

/** What a row ends as: a result (checked now, or invalid), or a previous run's row kept as it was. */
export type Outcome = { result: CheckResult } | { kept: PreviousRow }

interface Slot {
  row: InputRow
  prev?: PreviousRow
  outcome?: Outcome
}

export interface PipelineOptions {
  rows: AsyncIterable<InputRow>
  /** An earlier run's output, read in step with the input (resume). */
  previous?: PreviousOutput
  /** Results for a chunk of pairs, in their order; may reject with a fatal error. */
  check: (pairs: Pair[]) => Promise<CheckResult[]>
  /** Pairs per check call (the gate takes 1000 a request). */
  chunkSize: number
  /** Rows read but not yet written, at most: the memory bound, whatever the input's size. */
  maxBuffered: number
  /** Writes one row; called in input order. */
  emit: (row: InputRow, outcome: Outcome) => Promise<void>
  /** Interrupt: stop reading, write what is contiguous, keep the rest of the previous output. */
  signal?: AbortSignal
}

/** A promise that the next notify() settles: how the reader and the writer wait on each other. */
function notifier() {
  let wake!: () => void
  let next = new Promise<void>((r) => (wake = r))
  return {
    wait: () => next,
    notify() {
      wake()
      next = new Promise<void>((r) => (wake = r))
    },
  }
}

/**
 * Streams the input through the checker and writes every row in input order. Chunks go out as they fill (or
 * earlier, when the buffer is full of rows waiting behind an unsent one), and complete in any order; at most
 * `maxBuffered` rows are held, so memory stays flat in the input's size. Resolves true when interrupted.
 */
export async function runPipeline(o: PipelineOptions): Promise<{ interrupted: boolean }> {
  // Written rows are cleared at once (for the GC) and the array compacted now and then: a queue without shift().
  const fifo: (Slot | undefined)[] = []
  let head = 0
  let pending: Slot[] = []
  let readerDone = false
  let failure: { err: unknown } | undefined
  const changed = notifier()
  const aborted = () => o.signal?.aborted === true
  o.signal?.addEventListener('abort', () => changed.notify(), { once: true })

  const dispatch = () => {
    const chunk = pending
    pending = []
    o.check(chunk.map((s) => s.row.check!)).then(
      (results) => {
        chunk.forEach((s, k) => (s.outcome = { result: results[k]! }))
        changed.notify()
      },
      (err: unknown) => {
        // An interrupt ends the pauses of retries: their rows stay unanswered, which is no failure.
        if (!aborted()) failure ??= { err }
        changed.notify()
      },
    )
  }

  const read = async () => {
    try {
      for await (const row of o.rows) {
        if (failure || aborted()) break
        const slot: Slot = { row, prev: await o.previous?.next() }
        if (slot.prev && !samePair(slot.prev, row))
          throw new UsageError(
            `the --out file does not match the input at line ${row.line}: was it written for another input? ` +
              'Remove it to start afresh',
          )
        if (keepable(slot.prev)) slot.outcome = { kept: slot.prev }
        else if (row.invalid) slot.outcome = { result: invalid(row.invalid) }
        else pending.push(slot)
        fifo.push(slot)
        if (pending.length >= o.chunkSize) dispatch()
        while (fifo.length - head >= o.maxBuffered && !failure && !aborted()) {
          if (pending.length > 0) dispatch()
          await changed.wait()
        }
        if (failure || aborted()) break
      }
      if (pending.length > 0 && !failure && !aborted()) dispatch()
    } catch (err) {
      // An interrupt may destroy the input under the reader; that is a stop, not a failure.
      if (!aborted()) failure ??= { err }
    } finally {
      readerDone = true
      changed.notify()
    }
  }

  const write = async () => {
    for (;;) {
      if (failure) throw failure.err
      const slot = fifo[head]
      if (slot?.outcome) {
        fifo[head++] = undefined
        if (head > 4096) {
          fifo.splice(0, head)
          head = 0
        }
        await o.emit(slot.row, slot.outcome)
        changed.notify()
        continue
      }
      if (aborted()) return salvage()
      if (!slot && readerDone) return false
      await changed.wait()
    }
  }

  /** After an interrupt: rows still unanswered keep their previous line, so the output never loses one. */
  const salvage = async () => {
    await waitUntil(() => readerDone)
    for (const slot of fifo.slice(head) as Slot[]) {
      const outcome = slot.outcome ?? (slot.prev ? { kept: slot.prev } : undefined)
      if (!outcome) return true
      await o.emit(slot.row, outcome)
    }
    for (let prev = await o.previous?.next(); prev; prev = await o.previous?.next()) {
      await o.emit({ line: 0, endByte: 0 }, { kept: prev })
    }
    return true
  }

  const waitUntil = async (done: () => boolean) => {
    while (!done()) await changed.wait()
  }

  const writing = write().catch((err: unknown) => {
    failure ??= { err }
    changed.notify()
    throw err
  })
  const [, interrupted] = await Promise.all([read(), writing])
  return { interrupted }
}

const invalid = (message: string): CheckResult => ({ allowed: false, reason: INVALID_REQUEST, message })
