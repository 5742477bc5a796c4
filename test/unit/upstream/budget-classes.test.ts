import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  BudgetExceededError,
  createUpstreamBudget,
  type FleetRate,
  type UpstreamBudgetOptions,
} from '../../../src/upstream/budget.js'
import type { Priority } from '../../../src/upstream/port.js'

const never = () => new AbortController().signal
const flush = () => new Promise<void>((r) => setImmediate(r))

/** A promise the test settles by hand. */
function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Fake timers and Date moving together; the budget's injected `now` reads Date.now(). */
function fakeTime(): () => number {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 0 })
  return () => Date.now()
}

/** A budget whose every start is recorded with its class and time. */
function recorded(opts: UpstreamBudgetOptions) {
  const starts: { priority: Priority; at: number; label: string }[] = []
  const budget = createUpstreamBudget(opts)
  const run = (
    priority: Priority,
    label: string = priority,
    work: () => Promise<void> = async () => undefined,
  ) =>
    budget.run(
      async () => {
        starts.push({ priority, at: Date.now(), label })
        await work()
      },
      never(),
      priority,
    )
  return { budget, starts, run, labels: () => starts.map((s) => s.label) }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('upstream budget: live checks first', () => {
  it('gives a freed slot to a live waiter before older bulk waiters', async () => {
    const { run, labels } = recorded({ maxInflight: 1, maxRps: 0, maxQueue: 10, bulkShare: 1 })
    const gate = deferred()
    const first = run('bulk', 'b0', () => gate.promise)
    const rest = [run('bulk', 'b1'), run('bulk', 'b2'), run('live', 'l1')]
    await flush()
    gate.resolve()
    await Promise.all([first, ...rest])
    expect(labels()).toEqual(['b0', 'l1', 'b1', 'b2'])
  })

  it('gives the next token to a live check that arrived behind a queue of bulk work', async () => {
    const now = fakeTime()
    const { run, starts, labels } = recorded({ maxInflight: 10, maxRps: 2, maxQueue: 10, bulkShare: 1, now })
    const bulk = [1, 2, 3, 4].map((i) => run('bulk', `b${i}`))
    await flush()
    expect(labels()).toEqual(['b1', 'b2'])
    const live = run('live', 'l1')
    await vi.advanceTimersByTimeAsync(500)
    expect(labels()).toEqual(['b1', 'b2', 'l1'])
    expect(starts.at(-1)?.at).toBe(500)
    await vi.advanceTimersByTimeAsync(1000)
    await Promise.all([...bulk, live])
    expect(labels()).toEqual(['b1', 'b2', 'l1', 'b3', 'b4'])
  })

  it('keeps (1 - UPSTREAM_BULK_SHARE) of the burst for live checks: they start at once after a campaign', async () => {
    const now = fakeTime()
    const { run, labels } = recorded({ maxInflight: 100, maxRps: 10, maxQueue: 100, bulkShare: 0.5, now })
    const bulk = Array.from({ length: 20 }, (_, i) => run('bulk', `b${i}`))
    await flush()
    expect(labels()).toHaveLength(5)
    const live = Array.from({ length: 5 }, (_, i) => run('live', `l${i}`))
    await flush()
    expect(labels().slice(5)).toEqual(['l0', 'l1', 'l2', 'l3', 'l4'])
    // Bulk goes on at the full rate once the reserve refills: what live checks leave is bulk's.
    await vi.advanceTimersByTimeAsync(1000)
    expect(labels().filter((l) => l.startsWith('b')).length).toBe(5 + 5)
    await vi.advanceTimersByTimeAsync(10_000)
    await Promise.all([...bulk, ...live])
  })

  it('lets bulk work hold only its share of the in-flight slots, even with no live check around', async () => {
    const { budget, run } = recorded({ maxInflight: 4, maxRps: 0, maxQueue: 10, bulkShare: 0.5 })
    const gate = deferred()
    const bulk = Array.from({ length: 4 }, () => run('bulk', 'b', () => gate.promise))
    await flush()
    expect([budget.inflight, budget.waiting('bulk')]).toEqual([2, 2])
    const live = [run('live', 'l', () => gate.promise), run('live', 'l', () => gate.promise)]
    await flush()
    expect(budget.inflight).toBe(4)
    gate.resolve()
    await Promise.all([...bulk, ...live])
  })

  it('bounds each class queue apart: a full bulk queue never turns a live check away', async () => {
    const rejected: Priority[] = []
    const { budget, run } = recorded({
      maxInflight: 1,
      maxRps: 0,
      maxQueue: 1,
      observe: { rejected: (p) => rejected.push(p) },
    })
    const gate = deferred()
    const running = run('bulk', 'b0', () => gate.promise)
    const queued = run('bulk', 'b1')
    await expect(run('bulk', 'b2')).rejects.toBeInstanceOf(BudgetExceededError)
    const live = run('live', 'l1')
    expect([budget.waiting('bulk'), budget.waiting('live')]).toEqual([1, 1])
    await expect(run('live', 'l2')).rejects.toBeInstanceOf(BudgetExceededError)
    expect(rejected).toEqual(['bulk', 'live'])
    gate.resolve()
    await Promise.all([running, queued, live])
  })

  it('reports each start with its class and how long it waited', async () => {
    const now = fakeTime()
    const started: [Priority, number][] = []
    const { run } = recorded({
      maxInflight: 10,
      maxRps: 1,
      maxQueue: 10,
      now,
      observe: { started: (p, s) => started.push([p, s]) },
    })
    const calls = [run('live'), run('live')]
    await vi.advanceTimersByTimeAsync(1000)
    await Promise.all(calls)
    expect(started).toEqual([
      ['live', 0],
      ['live', 1],
    ])
  })
})

describe('upstream budget: the fleet rate', () => {
  /** A FleetRate the test answers: each ask waits in `asks` until resolved; give-backs land in `released`. */
  function fakeFleet() {
    const asks: { priority: Priority; answer: (waitMs: number) => void; fail: () => void }[] = []
    const released: Priority[] = []
    const fleet: FleetRate = {
      acquire: (priority) =>
        new Promise<number>((resolve, reject) => {
          asks.push({ priority, answer: resolve, fail: () => reject(new Error('redis down')) })
        }),
      release: (priority) => released.push(priority),
    }
    return { fleet, asks, released }
  }

  it('starts on the fleet grant alone, whatever the local bucket holds', async () => {
    const { fleet, asks } = fakeFleet()
    const { run, labels } = recorded({ maxInflight: 10, maxRps: 1, maxQueue: 10, fleet, now: () => 0 })
    const calls = [run('live', 'a'), run('live', 'b'), run('live', 'c')]
    for (let i = 0; i < 3; i++) {
      await flush()
      asks.shift()?.answer(0)
    }
    await Promise.all(calls)
    expect(labels()).toEqual(['a', 'b', 'c'])
  })

  it('costs each start one round trip of the fleet, not a place in a line of them', async () => {
    // One ask out per gate capped it at one start per Redis round trip: 25 starts/s at 40 ms, live included.
    const now = fakeTime()
    const fleet: FleetRate = { acquire: () => new Promise((r) => setTimeout(() => r(0), 40)) }
    const { run, starts } = recorded({
      maxInflight: 20,
      maxRps: 50,
      maxQueue: 100,
      fleet,
      fleetTimeoutMs: 50,
      now,
    })
    const calls = Array.from({ length: 20 }, () => run('live'))
    await vi.advanceTimersByTimeAsync(40)
    expect(starts.map((s) => s.at)).toEqual(Array(20).fill(40))
    await Promise.all(calls)
  })

  it('asks again when the fleet says wait, and at once when a live check arrives meanwhile', async () => {
    const now = fakeTime()
    const { fleet, asks } = fakeFleet()
    const { run, labels } = recorded({ maxInflight: 10, maxRps: 0, maxQueue: 10, fleet, now })
    const bulk = run('bulk', 'b')
    await flush()
    asks.shift()?.answer(300)
    await flush()
    expect(asks).toHaveLength(0)
    const live = run('live', 'l')
    await flush()
    expect(asks.map((a) => a.priority)).toEqual(['live'])
    asks.shift()?.answer(0)
    await flush()
    expect(labels()).toEqual(['l'])
    // Bulk asks again when the fleet said it might, not before.
    await vi.advanceTimersByTimeAsync(299)
    expect(asks).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(asks.map((a) => a.priority)).toEqual(['bulk'])
    asks.shift()?.answer(0)
    await Promise.all([bulk, live])
    expect(labels()).toEqual(['l', 'b'])
  })

  it('asks at once for a live check that came while a bulk ask was out', async () => {
    const now = fakeTime()
    const { fleet, asks } = fakeFleet()
    const { run, labels } = recorded({ maxInflight: 10, maxRps: 0, maxQueue: 10, fleet, now })
    const bulk = run('bulk', 'b')
    await flush()
    const live = run('live', 'l')
    await flush()
    expect(asks.map((a) => a.priority)).toEqual(['bulk', 'live'])
    asks.shift()?.answer(300)
    asks.shift()?.answer(0)
    await live
    expect(labels()).toEqual(['l'])
    await vi.advanceTimersByTimeAsync(300)
    asks.shift()?.answer(0)
    await bulk
  })

  it('gives a bulk grant to a live check waiting, and gives back a live grant whose waiter left', async () => {
    // A live grant spent the fleet's live tolerance: starting bulk with it would spend the reserve kept for live.
    const { fleet, asks, released } = fakeFleet()
    const budget = createUpstreamBudget({ maxInflight: 10, maxRps: 0, maxQueue: 10, fleet, now: () => 0 })
    const started: string[] = []
    const ac = new AbortController()
    const live = budget.run(async () => started.push('l'), ac.signal, 'live').catch(() => 'aborted')
    const bulk = budget.run(async () => started.push('b'), never(), 'bulk')
    await flush()
    expect(asks.map((a) => a.priority)).toEqual(['live'])
    ac.abort()
    expect(await live).toBe('aborted')
    expect(asks.map((a) => a.priority)).toEqual(['live', 'bulk'])
    asks.shift()?.answer(0)
    await flush()
    expect([started, released]).toEqual([[], ['live']])
    asks.shift()?.answer(0)
    await bulk
    expect(started).toEqual(['b'])
    // And a bulk grant serves a live check that came meanwhile (its own ask's grant then goes back).
    const b2 = budget.run(async () => started.push('b2'), never(), 'bulk')
    await flush()
    const l2 = budget.run(async () => started.push('l2'), never(), 'live')
    await flush()
    expect(asks.map((a) => a.priority)).toEqual(['bulk', 'live'])
    asks.shift()?.answer(0)
    await l2
    expect(started).toEqual(['b', 'l2'])
    asks.shift()?.answer(0)
    await flush()
    expect(released).toEqual(['live', 'live'])
    await flush()
    asks.shift()?.answer(0)
    await b2
  })

  it('bounds the queue on the waiters no ask is out for: maxQueue of them, not one more', async () => {
    const { fleet, asks } = fakeFleet()
    const budget = createUpstreamBudget({ maxInflight: 2, maxRps: 0, maxQueue: 1, fleet, now: () => 0 })
    const calls = [1, 2, 3].map(() => budget.run(async () => 'ok', never()))
    await flush()
    expect(asks).toHaveLength(2)
    await expect(budget.run(async () => 'no room', never())).rejects.toBeInstanceOf(BudgetExceededError)
    expect(budget.waiting('live')).toBe(3)
    for (let i = 0; i < 3; i++) {
      asks.shift()?.answer(0)
      await flush()
    }
    expect(await Promise.all(calls)).toEqual(['ok', 'ok', 'ok'])
  })

  it('falls back to its own UPSTREAM_MAX_RPS when the fleet cannot answer, from an empty bucket, and asks again later', async () => {
    const now = fakeTime()
    const { fleet, asks } = fakeFleet()
    let fallbacks = 0
    const { run, labels } = recorded({
      maxInflight: 10,
      maxRps: 2,
      maxQueue: 10,
      fleet,
      fleetRetryMs: 1000,
      now,
      observe: { fleetFallback: () => fallbacks++ },
    })
    const first = [run('live', 'a'), run('live', 'b'), run('live', 'c')]
    await flush()
    expect(asks).toHaveLength(3)
    for (const a of asks.splice(0)) a.fail()
    await flush()
    // No burst of its own on top of what the fleet granted: its rate from nothing. One fallback, no further ask.
    expect(labels()).toEqual([])
    expect([fallbacks, asks.length]).toEqual([1, 0])
    await vi.advanceTimersByTimeAsync(500)
    expect(labels()).toEqual(['a'])
    await vi.advanceTimersByTimeAsync(499)
    expect([labels(), asks.length]).toEqual([['a'], 0])
    // The retry period is over: b and c ask the fleet again.
    await vi.advanceTimersByTimeAsync(1)
    expect(asks).toHaveLength(2)
    for (const a of asks.splice(0)) a.answer(0)
    await Promise.all(first)
    expect(labels()).toEqual(['a', 'b', 'c'])
  })

  it('never opens a fallback with a full burst: N gates falling back send N rates, not N bursts on top', async () => {
    // A gate whose Redis is not connected yet used to start its fallback from a full bucket.
    const now = fakeTime()
    const fleet: FleetRate = { acquire: () => Promise.reject(new Error('not connected')) }
    const { run, starts } = recorded({ maxInflight: 100, maxRps: 10, maxQueue: 100, fleet, now })
    const calls = Array.from({ length: 30 }, () => run('live'))
    await vi.advanceTimersByTimeAsync(999)
    expect(starts.length).toBeLessThanOrEqual(10)
    await vi.advanceTimersByTimeAsync(5000)
    await Promise.all(calls)
  })

  it('bounds each fleet ask itself: a FleetRate that never settles costs fleetTimeoutMs, not a frozen budget', async () => {
    const now = fakeTime()
    const fleet: FleetRate = { acquire: () => new Promise<number>(() => undefined) }
    let fallbacks = 0
    const { run, labels } = recorded({
      maxInflight: 10,
      maxRps: 10,
      maxQueue: 10,
      fleet,
      fleetTimeoutMs: 50,
      now,
      observe: { fleetFallback: () => fallbacks++ },
    })
    const calls = [run('live', 'l'), run('bulk', 'b')]
    await vi.advanceTimersByTimeAsync(50)
    await flush()
    expect(fallbacks).toBe(1)
    // From an empty bucket at 10/s: live after one token, bulk once the live reserve (5) and its own token refilled.
    await vi.advanceTimersByTimeAsync(800)
    expect(labels()).toEqual(['l', 'b'])
    await Promise.all(calls)
  })
})

describe('upstream budget: any arrival pattern (model)', () => {
  const arrival = fc.record({
    atMs: fc.integer({ min: 0, max: 3000 }),
    priority: fc.constantFrom<Priority>('live', 'bulk'),
    durationMs: fc.integer({ min: 1, max: 400 }),
    // Some callers give up (their deadline) after this long, started or not.
    abortAfterMs: fc.option(fc.integer({ min: 0, max: 1500 }), { nil: undefined }),
  })

  it('starts no bulk work while live work waits, keeps the rate and the slots, and starts everything', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arrival, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(0.25, 0.5, 1),
        async (arrivals, maxRps, maxInflight, bulkShare) => {
          const now = fakeTime()
          try {
            const budget = createUpstreamBudget({ maxInflight, maxRps, maxQueue: 1000, bulkShare, now })
            const starts: { priority: Priority; at: number }[] = []
            const violations: string[] = []
            let bulkActive = 0
            let aborted = 0
            const calls = [...arrivals]
              .sort((a, b) => a.atMs - b.atMs)
              .map(async (a) => {
                await new Promise((r) => setTimeout(r, a.atMs))
                const ac = new AbortController()
                if (a.abortAfterMs !== undefined) setTimeout(() => ac.abort(), a.abortAfterMs)
                return budget
                  .run(
                    async () => {
                      starts.push({ priority: a.priority, at: now() })
                      if (budget.inflight > maxInflight) violations.push('slots')
                      if (a.priority === 'bulk') {
                        if (budget.waiting('live') > 0)
                          violations.push(`bulk started at ${now()} while live waited`)
                        if (++bulkActive > Math.max(1, Math.floor(bulkShare * maxInflight)))
                          violations.push('bulk slots')
                      }
                      await new Promise((r) => setTimeout(r, a.durationMs))
                      if (a.priority === 'bulk') bulkActive--
                    },
                    ac.signal,
                    a.priority,
                  )
                  .catch(() => aborted++)
              })
            await vi.advanceTimersByTimeAsync(3000 + (arrivals.length * 1000) / maxRps + 60 * 400 + 1000)
            await Promise.all(calls)
            expect(violations).toEqual([])
            expect(starts.length + aborted).toBe(arrivals.length)
            expect([budget.inflight, budget.queued]).toEqual([0, 0])
            // At most a burst plus the rate in any window of a second.
            for (const s of starts) {
              const inWindow = starts.filter((o) => o.at >= s.at && o.at < s.at + 1000).length
              expect(inWindow).toBeLessThanOrEqual(maxRps + maxRps)
            }
          } finally {
            vi.useRealTimers()
          }
        },
      ),
      { numRuns: 60, seed: 14 },
    )
  })
})
