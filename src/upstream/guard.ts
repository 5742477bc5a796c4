import { DelegateBackoff, handleWhen, TaskCancelledError, retry, type IRetryBackoffContext } from 'cockatiel'
import type { CircuitBreaker } from './breaker.js'
import { BudgetExceededError, type UpstreamBudget } from './budget.js'
import { UpstreamError, isRetryable, toUpstreamError } from './errors.js'
import type { Priority } from './port.js'

export interface UpstreamGuardOptions {
  /** Retries after the first attempt (UPSTREAM_RETRIES, default 2). */
  retries: number
  breaker: CircuitBreaker
  budget: UpstreamBudget
  /** First backoff step; each retry doubles it, full jitter picks a delay in [0, step). Default 100 ms. */
  baseDelayMs?: number
  /** Cap on a backoff step. Default 2000 ms. */
  maxDelayMs?: number
  random?: () => number
  /** Names the upstream in messages (default Kaleyra). */
  upstreamName?: string
  /**
   * Failures about one request alone, which prove the upstream up (Meta's invalid parameter: one user per request).
   * Default none: every failure but an authentication one counts against the circuit.
   */
  aboutOneRequest?: (e: UpstreamError) => boolean
}

/** A deadline shared by every attempt of one lookup. */
export interface Deadline {
  signal: AbortSignal
  /** Milliseconds left (monotonic). */
  remainingMs(): number
}

export function createDeadline(ms: number): Deadline {
  const endsAt = performance.now() + ms
  return { signal: AbortSignal.timeout(ms), remainingMs: () => endsAt - performance.now() }
}

export interface UpstreamGuard {
  /**
   * Runs one idempotent upstream request under the breaker, the budget and the retry policy, within the deadline;
   * each attempt waits for the budget in the request's class (default live).
   */
  run<T>(attempt: (signal: AbortSignal) => Promise<T>, deadline: Deadline, priority?: Priority): Promise<T>
}

const retryAfterMs = (err: unknown) =>
  err instanceof UpstreamError && err.opts.retryAfterSeconds !== undefined
    ? err.opts.retryAfterSeconds * 1000
    : 0

export function createUpstreamGuard(opts: UpstreamGuardOptions): UpstreamGuard {
  const { breaker, budget } = opts
  const base = opts.baseDelayMs ?? 100
  const cap = opts.maxDelayMs ?? 2000
  const random = opts.random ?? Math.random
  const name = opts.upstreamName ?? 'Kaleyra'
  // Exponential backoff with full jitter, never sooner than Kaleyra's own Retry-After, and never past the
  // deadline: cockatiel's retry delay does not watch the abort signal, so the delay itself must end in time.
  const backoffWithin = (deadline: Deadline) =>
    new DelegateBackoff((ctx: IRetryBackoffContext<unknown>) => {
      const jitter = random() * Math.min(cap, base * 2 ** (ctx.attempt - 1))
      const wanted = Math.max(jitter, 'error' in ctx.result ? retryAfterMs(ctx.result.error) : 0)
      return Math.max(0, Math.min(wanted, deadline.remainingMs()))
    })

  const circuitOpen = () =>
    new UpstreamError(
      'circuit_open',
      `${name} has been failing; the gate is not asking it until the next probe`,
      {
        retryAfterSeconds: Math.max(1, Math.ceil(breaker.msUntilProbe() / 1000)),
      },
    )

  async function once<T>(
    attempt: (signal: AbortSignal) => Promise<T>,
    signal: AbortSignal,
    priority: Priority,
  ): Promise<T> {
    if (breaker.state === 'open') throw circuitOpen()
    return budget.run(
      async (s) => {
        if (!breaker.tryAcquire()) throw circuitOpen()
        try {
          const value = await attempt(s)
          breaker.success()
          return value
        } catch (err) {
          const e = toUpstreamError(err, name)
          // The upstream refusing the key, or refusing one request for its own parameters (Meta answers one user a
          // request: a bad BSUID must not open the circuit for everyone), still answered: it is up. Anything else
          // counts, 4xx included: a Kaleyra that answers 403 to everything is down for the gate.
          if (e.kind === 'auth_failed' || opts.aboutOneRequest?.(e) === true) breaker.success()
          else breaker.failure()
          throw e
        }
      },
      signal,
      priority,
    )
  }

  return {
    async run(attempt, deadline, priority = 'live') {
      const policy = retry(
        // Retry only what may mend, and only when Kaleyra's Retry-After still fits in the deadline.
        handleWhen(
          (err) =>
            err instanceof UpstreamError && isRetryable(err) && retryAfterMs(err) < deadline.remainingMs(),
        ),
        { maxAttempts: opts.retries, backoff: backoffWithin(deadline) },
      )
      try {
        return await policy.execute(({ signal }) => once(attempt, signal, priority), deadline.signal)
      } catch (err) {
        if (err instanceof BudgetExceededError) {
          throw new UpstreamError('budget_exceeded', `Too many ${name} requests are already waiting`, {
            cause: err,
          })
        }
        // cockatiel 3.2's isTaskCancelledError() tests the wrong property, so instanceof it is.
        if (err instanceof TaskCancelledError) {
          throw new UpstreamError('timeout', `The check deadline passed before ${name} answered`, {
            cause: err,
          })
        }
        throw toUpstreamError(err, name)
      }
    },
  }
}
