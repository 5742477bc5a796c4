import type { Priority } from './port.js'

/**
 * The fleet's shared rate (UPSTREAM_FLEET_MAX_RPS): the budget asks it before each start instead of its own token
 * bucket. An adapter under src/shared/ implements it on Redis; the composition root wires it in.
 */
export interface FleetRate {
  /**
   * Asks to start one request of this class now. Resolves 0 when granted, else the milliseconds to wait before
   * asking again; rejects when the fleet cannot say (an error, a timeout, the tier down).
   */
  acquire(priority: Priority): Promise<number>
  /** Gives back a start granted for this class that no waiter could use (it aborted, or came too late). */
  release?(priority: Priority): void
}

/** Called as work moves through the budget (metrics). */
export interface BudgetObserver {
  /** A request started, after waiting this long for a slot and a token. */
  started?(priority: Priority, waitedSeconds: number): void
  /** A request turned away at once: its class's queue was full. */
  rejected?(priority: Priority): void
  /** The fleet could not answer: this gate used its own rate (UPSTREAM_MAX_RPS) instead. */
  fleetFallback?(): void
}

export interface UpstreamBudgetOptions {
  /** Requests in flight at once (UPSTREAM_MAX_INFLIGHT, default 16). */
  maxInflight: number
  /** Request starts per second, also the burst size (UPSTREAM_MAX_RPS, default 50); 0 = no rate limit. */
  maxRps: number
  /** Waiters per class (UPSTREAM_MAX_QUEUE, default 100); one more of that class is rejected at once. */
  maxQueue: number
  /**
   * UPSTREAM_BULK_SHARE, default 0.5: the part of the burst and of the in-flight slots bulk work may take; the rest
   * is kept for live checks, so a live miss after a campaign's burst starts at once. 1: bulk may take everything.
   */
  bulkShare?: number
  /** Monotonic milliseconds for the token bucket. Default performance.now: this paces real traffic, it is no TTL. */
  now?: () => number
  /** The fleet's rate, used instead of the local bucket while it answers. */
  fleet?: FleetRate
  /** After the fleet failed to answer, how long this gate uses its own rate before asking it again. Default 1000. */
  fleetRetryMs?: number
  /**
   * Bound on one fleet ask (REDIS_TIMEOUT_MS, default 50): past it the ask counts as failed and the gate falls back,
   * even when the FleetRate never settles.
   */
  fleetTimeoutMs?: number
  observe?: BudgetObserver
}

export class BudgetExceededError extends Error {
  constructor() {
    super('The upstream request queue is full')
    this.name = 'BudgetExceededError'
  }
}

export interface UpstreamBudget {
  /**
   * Runs fn within the budget, in its class (default live). Rejects at once with BudgetExceededError when that
   * class's queue is full; rejects with the signal's reason (or an AbortError) when the signal aborts while waiting.
   * fn receives the same signal.
   */
  run<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, priority?: Priority): Promise<T>
  readonly inflight: number
  readonly queued: number
  /** Requests of one class waiting for a slot or a token. */
  waiting(priority: Priority): number
}

export type Bucket = { tokens: number; updatedAt: number }

/** The bucket refilled up to `now`, never past its capacity. */
export function refill(bucket: Bucket, now: number, rate: number, capacity: number): Bucket {
  const at = Math.max(now, bucket.updatedAt)
  return {
    tokens: Math.min(capacity, bucket.tokens + ((at - bucket.updatedAt) * rate) / 1000),
    updatedAt: at,
  }
}

/** Milliseconds until the bucket holds `need` tokens (0: it does now). */
export function msUntil(bucket: Bucket, need: number, rate: number): number {
  // A timer may fire a hair early in float terms: a millionth of a token is close enough.
  const missing = need - bucket.tokens
  return missing <= 1e-6 ? 0 : (missing * 1000) / rate
}

/**
 * Tokens the bucket must hold for a class to take one: live needs one; bulk one more than the reserve kept for
 * live checks, (1 - share) of the capacity, but never so many that bulk could never start.
 */
export function tokensNeeded(priority: Priority, capacity: number, bulkShare: number): number {
  return priority === 'live' ? 1 : 1 + Math.min((1 - bulkShare) * capacity, capacity - 1)
}

/**
 * In-flight slots bulk work may hold: its share of them, at least one. Below 1 that share always leaves a slot to
 * live checks once there are two or more; with a single slot (UPSTREAM_MAX_INFLIGHT=1) bulk may hold it, since
 * bulk work must still start, and a live check then waits for that one request (UPSTREAM_TIMEOUT_MS at most).
 */
export const bulkSlots = (maxInflight: number, bulkShare: number): number =>
  Math.max(1, Math.floor(bulkShare * maxInflight))

// Node fills in a DOMException AbortError when abort() is given no reason; the fallback is for other signals.
const abortReason = (signal: AbortSignal): Error =>
  (signal.reason as Error | undefined) ?? new DOMException('This operation was aborted', 'AbortError')

interface Waiter {
  since: number
  start: () => void
}

const classes: readonly Priority[] = ['live', 'bulk']

/**
 * Two classes of work share in-flight slots and one rate. A start needs a free slot and a token; when both classes
 * wait, live goes first, and bulk starts only while no live work waits, within its share of the slots and without
 * spending the burst kept for live checks. Tokens are taken at the moment of the start, never reserved ahead, so
 * a live miss arriving behind a queue of bulk work takes the next token.
 *
 * With a fleet rate, every waiter that could start (a slot free for it) has its own ask out at once, so the fleet
 * costs a start one round trip, not a place in a line of them; after the fleet said "wait", one ask per class
 * probes it until a grant, so a busy gate does not ask once per waiter per interval.
 */
export function createUpstreamBudget(opts: UpstreamBudgetOptions): UpstreamBudget {
  const { maxInflight, maxRps, maxQueue, fleet, observe } = opts
  const bulkShare = opts.bulkShare ?? 0.5
  const now = opts.now ?? (() => performance.now())
  const fleetRetryMs = opts.fleetRetryMs ?? 1000
  const fleetTimeoutMs = opts.fleetTimeoutMs ?? 50
  const capacity = Math.max(1, maxRps)
  const need = {
    live: tokensNeeded('live', capacity, bulkShare),
    bulk: tokensNeeded('bulk', capacity, bulkShare),
  }
  const slotsFor = { live: maxInflight, bulk: bulkSlots(maxInflight, bulkShare) }
  const waiting: Record<Priority, Waiter[]> = { live: [], bulk: [] }
  const active: Record<Priority, number> = { live: 0, bulk: 0 }
  // With a fleet the local bucket is only its fallback, and a fallback must not open with a burst on top of what
  // the fleet granted this second (N gates falling back together would send N bursts): it starts empty.
  let bucket: Bucket = { tokens: fleet ? 0 : capacity, updatedAt: now() }
  let timer: NodeJS.Timeout | undefined
  /** Fleet asks out per class; each holds a slot for the start it may bring. */
  const out: Record<Priority, number> = { live: 0, bulk: 0 }
  /** After the fleet said "wait" for a class: no ask for it before then, and one at a time until a grant. */
  const holdUntil: Record<Priority, number> = { live: -Infinity, bulk: -Infinity }
  const throttled: Record<Priority, boolean> = { live: false, bulk: false }
  let fleetDownUntil = -Infinity
  let fleetUp = true

  const used = () => active.live + active.bulk + out.live + out.bulk
  const bulkFree = () => active.bulk + out.bulk < slotsFor.bulk

  /** The class whose oldest waiter starts next, slots permitting: live first, bulk only while no live work waits. */
  function nextClass(): Priority | undefined {
    if (used() >= maxInflight) return undefined
    if (waiting.live.length > 0) return 'live'
    if (waiting.bulk.length > 0 && bulkFree()) return 'bulk'
    return undefined
  }

  function startNext(priority: Priority): void {
    const waiter = waiting[priority].shift()
    if (!waiter) return
    active[priority]++
    observe?.started?.(priority, Math.max(0, now() - waiter.since) / 1000)
    waiter.start()
  }

  /** 0 when a token was taken for this class, else the ms until it may take one. */
  function takeLocal(priority: Priority): number {
    if (maxRps <= 0) return 0
    bucket = refill(bucket, now(), maxRps, capacity)
    const waitMs = msUntil(bucket, need[priority], maxRps)
    if (waitMs === 0) bucket = { ...bucket, tokens: bucket.tokens - 1 }
    return waitMs
  }

  function wakeIn(ms: number): void {
    clearTimeout(timer)
    timer = setTimeout(
      () => {
        timer = undefined
        pump()
      },
      Math.max(0, Math.ceil(ms)),
    )
  }

  function fleetFailed(): void {
    if (fleetUp) {
      // From here on the gate paces itself: from an empty bucket, whatever the fleet granted it a moment ago.
      bucket = { tokens: 0, updatedAt: now() }
      fleetUp = false
    }
    if (now() >= fleetDownUntil) observe?.fleetFallback?.()
    fleetDownUntil = now() + fleetRetryMs
  }

  /** A grant for this class: to the oldest waiter it may start (a bulk grant serves live too), else back. */
  function granted(priority: Priority, rate: FleetRate): void {
    fleetUp = true
    throttled[priority] = false
    // A grant for live spent the fleet's live tolerance: it never starts bulk, which must leave that reserve alone.
    const to: Priority | undefined =
      waiting.live.length > 0
        ? 'live'
        : priority === 'bulk' && waiting.bulk.length > 0 && bulkFree()
          ? 'bulk'
          : undefined
    if (to && active.live + active.bulk < maxInflight) startNext(to)
    else rate.release?.(priority)
  }

  /**
   * One ask, bounded here too: a FleetRate that never settles must not freeze both classes. The bound yields to
   * I/O once before it fires, so an answer read late by a busy event loop still counts. A grant that comes after
   * the bound is given back.
   */
  function ask(priority: Priority, rate: FleetRate): void {
    out[priority]++
    let done = false
    const settle = (fn: () => void) => {
      if (done) return
      done = true
      clearTimeout(bound)
      out[priority]--
      fn()
      pump()
    }
    const bound = setTimeout(() => setImmediate(() => settle(fleetFailed)), fleetTimeoutMs)
    rate.acquire(priority).then(
      (waitMs) => {
        if (done) return waitMs === 0 ? rate.release?.(priority) : undefined
        settle(() => {
          if (waitMs === 0) return granted(priority, rate)
          fleetUp = true
          // A wait for live holds bulk as long at least: bulk's tolerance is the smaller.
          for (const c of priority === 'live' ? classes : [priority]) {
            holdUntil[c] = Math.max(holdUntil[c], now() + waitMs)
            throttled[c] = true
          }
        })
      },
      () => settle(fleetFailed),
    )
  }

  /** Asks the fleet for every waiter that could start now and has no ask out; returns when to look again. */
  function askFleet(rate: FleetRate): number {
    let wakeAt = Infinity
    for (const c of classes) {
      if (c === 'bulk' && waiting.live.length > 0) break
      let want = waiting[c].length - out[c]
      if (want <= 0) continue
      if (now() < holdUntil[c]) {
        wakeAt = Math.min(wakeAt, holdUntil[c])
        continue
      }
      if (throttled[c]) want = Math.min(want, 1 - out[c])
      for (; want > 0 && used() < maxInflight && (c === 'live' || bulkFree()); want--) ask(c, rate)
    }
    return wakeAt
  }

  /** Starts every waiter that may start now, then arranges to be called again when the next one may. */
  function pump(): void {
    clearTimeout(timer)
    timer = undefined
    if (fleet && now() >= fleetDownUntil) {
      const wakeAt = askFleet(fleet)
      if (wakeAt < Infinity) wakeIn(wakeAt - now())
      return
    }
    for (let next = nextClass(); next; next = nextClass()) {
      const waitMs = takeLocal(next)
      if (waitMs > 0) return wakeIn(fleet ? Math.min(waitMs, fleetDownUntil - now()) : waitMs)
      startNext(next)
    }
  }

  /** Queues the caller in its class and lets the pump decide; a start frees it, an abort takes it out. */
  function admit(priority: Priority, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const queue = waiting[priority]
      const onAbort = () => {
        queue.splice(queue.indexOf(waiter), 1)
        reject(abortReason(signal))
        // Re-plans the timer (or clears it when nobody waits): a stale one would keep later arrivals from pumping.
        pump()
      }
      const waiter: Waiter = {
        since: now(),
        start: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      queue.push(waiter)
      signal.addEventListener('abort', onAbort, { once: true })
      // A live arrival may start before a bulk waiter's token is due; a bulk one changes nothing a timer awaits.
      if (!timer || priority === 'live') pump()
      // A waiter the fleet is being asked for is starting, as a local start would have: the bound is on the rest.
      if (queue.at(-1) === waiter && queue.length - out[priority] > maxQueue) {
        queue.pop()
        signal.removeEventListener('abort', onAbort)
        observe?.rejected?.(priority)
        reject(new BudgetExceededError())
      }
    })
  }

  return {
    async run<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, priority: Priority = 'live') {
      if (signal.aborted) throw abortReason(signal)
      await admit(priority, signal)
      try {
        return await fn(signal)
      } finally {
        active[priority]--
        pump()
      }
    },
    get inflight() {
      return active.live + active.bulk
    },
    get queued() {
      return waiting.live.length + waiting.bulk.length
    },
    waiting: (priority) => waiting[priority].length,
  }
}
