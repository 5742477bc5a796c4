export interface UpstreamBudgetOptions {
  /** Requests in flight at once (UPSTREAM_MAX_INFLIGHT, default 16). A request waiting for a rate token counts. */
  maxInflight: number
  /** Request starts per second, also the burst size (UPSTREAM_MAX_RPS, default 50); 0 = no rate limit. */
  maxRps: number
  /** Waiters beyond the in-flight slots (UPSTREAM_MAX_QUEUE, default 100); one more is rejected at once. */
  maxQueue: number
  /** Monotonic milliseconds for the token bucket. Default performance.now: this paces real traffic, it is no TTL. */
  now?: () => number
}

export class BudgetExceededError extends Error {
  constructor() {
    super('The upstream request queue is full')
    this.name = 'BudgetExceededError'
  }
}

export interface UpstreamBudget {
  /** Runs fn within the budget. Rejects at once with BudgetExceededError when the queue is full; rejects with the
   * signal's reason (or an AbortError) when the signal aborts while waiting. fn receives the same signal. */
  run<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T>
  readonly inflight: number
  readonly queued: number
}

type Bucket = { tokens: number; updatedAt: number }

/** Pure token-bucket step: how many ms to wait before a token is available (0 = take now), and the new state.
 * The token is taken even when it must be waited for (tokens go negative), so waiters are served in order
 * and never race for the same refill. */
export function takeToken(
  state: Bucket,
  now: number,
  rate: number,
  capacity: number,
): { waitMs: number; state: Bucket } {
  if (rate <= 0) return { waitMs: 0, state }
  const at = Math.max(now, state.updatedAt)
  const tokens = Math.min(capacity, state.tokens + ((at - state.updatedAt) * rate) / 1000) - 1
  return { waitMs: tokens >= 0 ? 0 : (-tokens * 1000) / rate, state: { tokens, updatedAt: at } }
}

// Node fills in a DOMException AbortError when abort() is given no reason; the fallback is for other signals.
const abortReason = (signal: AbortSignal): Error =>
  (signal.reason as Error | undefined) ?? new DOMException('This operation was aborted', 'AbortError')

/** A real timer, cleared when the signal aborts so an abandoned wait holds nothing. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(abortReason(signal))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * In-flight slots with a bounded queue, instead of cockatiel 3.2's bulkhead, which keeps an aborted waiter queued and
 * later drops it without waking the next one. Here an aborted waiter leaves at once, and a freed slot goes straight
 * to the next waiter, so no newcomer slips in between.
 */
function createSlots(max: number, maxQueue: number) {
  let active = 0
  const waiters: Array<() => void> = []
  return {
    get active() {
      return active
    },
    get queued() {
      return waiters.length
    },
    async acquire(signal: AbortSignal): Promise<void> {
      if (active < max) {
        active++
        return
      }
      if (waiters.length >= maxQueue) throw new BudgetExceededError()
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
        const onAbort = () => {
          waiters.splice(waiters.indexOf(grant), 1)
          reject(abortReason(signal))
        }
        waiters.push(grant)
        signal.addEventListener('abort', onAbort, { once: true })
      })
    },
    release(): void {
      const next = waiters.shift()
      if (next) next()
      else active--
    },
  }
}

export function createUpstreamBudget(opts: UpstreamBudgetOptions): UpstreamBudget {
  const { maxInflight, maxRps, maxQueue } = opts
  const now = opts.now ?? (() => performance.now())
  const capacity = Math.max(1, maxRps)
  let bucket: Bucket = { tokens: capacity, updatedAt: now() }
  const slots = createSlots(maxInflight, maxQueue)

  // The slot is taken before the token so the rate counts real starts, not calls parked in the queue.
  const pace = async (signal: AbortSignal) => {
    if (maxRps <= 0) return
    const step = takeToken(bucket, now(), maxRps, capacity)
    bucket = step.state
    if (step.waitMs <= 0) return
    try {
      await sleep(step.waitMs, signal)
    } catch (err) {
      // An abandoned wait sends nothing: its token goes back, but only while no later caller has taken one after
      // it (that caller's start time already counts on it; giving it back too would let two start at once).
      if (bucket === step.state) bucket = { ...bucket, tokens: Math.min(capacity, bucket.tokens + 1) }
      throw err
    }
  }

  return {
    async run<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
      if (signal.aborted) throw abortReason(signal)
      await slots.acquire(signal)
      try {
        await pace(signal)
        return await fn(signal)
      } finally {
        slots.release()
      }
    },
    get inflight() {
      return slots.active
    },
    get queued() {
      return slots.queued
    },
  }
}
