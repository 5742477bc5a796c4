import { ConsentGateError } from '../../client/index.js'
import { gateBody, RETRYABLE_REASONS, type CheckResult } from '../results.js'
import { retryDelayMs, type RetryPolicy } from './retry.js'

export interface Pair {
  business: string
  user: string
}

/** What the checker needs of the client (src/client): one `POST /can-call/batch`, sent as bulk work. */
// A port rather than the client's own type, so unit tests can stand in for the gate.
export interface BatchPort {
  canCallBatch(checks: Pair[], opts: { priority: 'bulk' }): Promise<{ results: CheckResult[] }>
}

/** Statuses of a whole request worth retrying (0: no answer): the gate, or a proxy in front of it, is busy or down. */
const RETRYABLE_STATUSES = new Set([0, 429, 502, 503, 504])

/** A whole request the gate refused for a reason no retry mends (a wrong token, a request it cannot read). */
export class FatalGateError extends Error {
  override name = 'FatalGateError'
}

export interface CheckerOptions {
  client: BatchPort
  /** Batch requests in flight at once. */
  concurrency: number
  retry: RetryPolicy
  /** Waits `ms`; rejects when the run is interrupted. */
  sleep: (ms: number) => Promise<void>
  /** Told of each retry, for the progress line. */
  onRetry?: (rows: number, delayMs: number) => void
}

/**
 * Checks chunks of pairs through `POST /can-call/batch`, at most `concurrency` requests at once. Rows left
 * undetermined (a failed request, or an item answered `upstream_unavailable` or `overloaded`) are sent again after
 * a pause, a bounded number of times; a pause holds no request slot.
 */
export function createChecker(opts: CheckerOptions) {
  let free = opts.concurrency
  const waiting: (() => void)[] = []
  const acquire = async () => {
    if (free > 0) free--
    else await new Promise<void>((resolve) => waiting.push(resolve))
  }
  const release = () => {
    const next = waiting.shift()
    if (next) next()
    else free++
  }

  /** One request; a whole-request failure becomes one result per pair, or a FatalGateError. */
  async function send(pairs: Pair[]): Promise<{ results: CheckResult[]; retryAfterSeconds?: number }> {
    await acquire()
    try {
      const order = byBusiness(pairs)
      const { results } = await opts.client.canCallBatch(
        order.map((i) => pairs[i]!),
        { priority: 'bulk' },
      )
      if (results.length !== pairs.length)
        throw new FatalGateError(`the gate answered ${results.length} results for ${pairs.length} checks`)
      const inOrder = new Array<CheckResult>(pairs.length)
      order.forEach((original, k) => (inOrder[original] = gateBody(results[k]!)))
      return { results: inOrder }
    } catch (err) {
      if (!(err instanceof ConsentGateError)) throw err
      if (!RETRYABLE_STATUSES.has(err.status ?? 0) && !RETRYABLE_REASONS.has(err.code))
        throw new FatalGateError(`the gate refused the batch request: ${err.code}: ${err.message}`)
      const result: CheckResult = { allowed: false, reason: err.code, message: err.message }
      return { results: pairs.map(() => result), retryAfterSeconds: err.retryAfterSeconds }
    } finally {
      release()
    }
  }

  return {
    /** Results for `pairs`, in their order. */
    async check(pairs: Pair[]): Promise<CheckResult[]> {
      const results: CheckResult[] = new Array<CheckResult>(pairs.length)
      let todo = pairs.map((_, i) => i)
      for (let attempt = 0; ; attempt++) {
        const answer = await send(todo.map((i) => pairs[i]!))
        todo.forEach((i, k) => (results[i] = answer.results[k]!))
        const again = todo.filter((i) => RETRYABLE_REASONS.has(results[i]!.reason))
        if (again.length === 0 || attempt >= opts.retry.retries) return results
        const delay = retryDelayMs(attempt + 1, answer.retryAfterSeconds, opts.retry)
        opts.onRetry?.(again.length, delay)
        await opts.sleep(delay)
        todo = again
      }
    },
  }
}

/**
 * The order to send a chunk in, grouped by business: the gate takes a batch request 100 checks at a time and
 * Kaleyra 25 users of one business a request, so a grouped chunk fills whole Kaleyra requests where an
 * interleaved one splits them. Answers are put back in the input's order.
 */
export function byBusiness(pairs: readonly Pair[]): number[] {
  return pairs.map((_, i) => i).sort((a, b) => compare(pairs[a]!.business, pairs[b]!.business) || a - b)
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
