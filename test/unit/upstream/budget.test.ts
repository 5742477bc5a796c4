import { afterEach, describe, it, expect, vi } from 'vitest'
import {
  BudgetExceededError,
  bulkSlots,
  createUpstreamBudget,
  msUntil,
  refill,
  tokensNeeded,
} from '../../../src/upstream/budget.js'

/** A promise the test settles by hand. */
function deferred<T = string>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Lets queued promise callbacks (cockatiel dequeues through microtasks) run; not a sleep. */
const flush = () => new Promise<void>((r) => setImmediate(r))

const never = () => new AbortController().signal

/** Fake timers and a fake Date that move together: the budget's injected `now` reads Date.now(). */
function fakeTime(): () => number {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 0 })
  return () => Date.now()
}

describe('the token bucket', () => {
  it('refills continuously, not in whole-second steps, and never past capacity', () => {
    const empty = { tokens: 0, updatedAt: 0 }
    expect(refill(empty, 250, 2, 2)).toEqual({ tokens: 0.5, updatedAt: 250 })
    expect(refill(empty, 3_600_000, 2, 2).tokens).toBe(2)
  })

  it('says how long until a class may take a token: 1000/rate ms per missing token', () => {
    expect(msUntil({ tokens: 0, updatedAt: 0 }, 1, 4)).toBe(250)
    expect(msUntil({ tokens: 1.5, updatedAt: 0 }, 1, 4)).toBe(0)
    expect(msUntil({ tokens: 1, updatedAt: 0 }, 3, 4)).toBe(500)
  })

  it('has bulk leave (1 - share) of the burst to live checks, yet always able to start', () => {
    expect(tokensNeeded('live', 50, 0.5)).toBe(1)
    expect(tokensNeeded('bulk', 50, 0.5)).toBe(26)
    expect(tokensNeeded('bulk', 50, 1)).toBe(1)
    expect(tokensNeeded('bulk', 1, 0.1)).toBe(1)
    expect(bulkSlots(16, 0.5)).toBe(8)
    expect(bulkSlots(1, 0.5)).toBe(1)
    // From two slots on, a share below 1 always leaves one to live checks.
    expect(bulkSlots(2, 0.99)).toBe(1)
    expect(bulkSlots(16, 0.99)).toBe(15)
  })
})

describe('createUpstreamBudget', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('never runs more than maxInflight functions at once', async () => {
    const budget = createUpstreamBudget({ maxInflight: 2, maxRps: 0, maxQueue: 10 })
    const gates = Array.from({ length: 5 }, () => deferred())
    let running = 0
    let peak = 0
    const results = gates.map((gate, i) =>
      budget.run(async () => {
        peak = Math.max(peak, ++running)
        const value = await gate.promise
        running--
        return `${value}${i}`
      }, never()),
    )
    await flush()
    expect(running).toBe(2)
    expect(budget.inflight).toBe(2)
    expect(budget.queued).toBe(3)
    for (const gate of gates) {
      gate.resolve('done')
      await flush()
    }
    expect(await Promise.all(results)).toEqual(['done0', 'done1', 'done2', 'done3', 'done4'])
    expect(peak).toBe(2)
    expect(budget.inflight).toBe(0)
  })

  it('rejects the (maxInflight + maxQueue + 1)-th call at once while the earlier ones complete', async () => {
    const budget = createUpstreamBudget({ maxInflight: 1, maxRps: 0, maxQueue: 2 })
    const gate = deferred()
    const earlier = [1, 2, 3].map((n) => budget.run(async () => `${await gate.promise}${n}`, never()))
    const extra = vi.fn(async () => 'extra')
    const err: unknown = await budget.run(extra, never()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BudgetExceededError)
    expect(err).toMatchObject({
      name: 'BudgetExceededError',
      message: expect.stringMatching(/queue is full/),
    })
    expect(extra).not.toHaveBeenCalled()
    gate.resolve('ok')
    expect(await Promise.all(earlier)).toEqual(['ok1', 'ok2', 'ok3'])
  })

  it('rejects an aborted waiter with the signal reason and frees its queue slot', async () => {
    const budget = createUpstreamBudget({ maxInflight: 1, maxRps: 0, maxQueue: 1 })
    const gate = deferred()
    const first = budget.run(() => gate.promise, never())
    const ac = new AbortController()
    const waiterFn = vi.fn(async () => 'waiter')
    const waiter = budget.run(waiterFn, ac.signal)
    await expect(budget.run(async () => 'no room', never())).rejects.toBeInstanceOf(BudgetExceededError)

    const reason = new Error('deadline passed')
    ac.abort(reason)
    await expect(waiter).rejects.toBe(reason)
    expect(budget.queued).toBe(0)

    const next = budget.run(async () => 'next', never())
    expect(budget.queued).toBe(1)
    gate.resolve('first')
    expect(await first).toBe('first')
    expect(await next).toBe('next')
    expect(waiterFn).not.toHaveBeenCalled()
  })

  it('still wakes the next waiter when the one ahead of it was aborted', async () => {
    // Plain cockatiel 3.2 strands the second waiter here: the aborted head is dropped without a dequeue.
    const budget = createUpstreamBudget({ maxInflight: 1, maxRps: 0, maxQueue: 2 })
    const gate = deferred()
    const first = budget.run(() => gate.promise, never())
    const ac = new AbortController()
    const aborted = budget.run(async () => 'aborted', ac.signal)
    const second = budget.run(async () => 'second', never())
    ac.abort()
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' })
    gate.resolve('first')
    await first
    expect(await second).toBe('second')
  })

  it('never runs an abandoned waiter nor strands the next one, whenever the abort lands', async () => {
    // Sweeps the abort across the microtasks in which cockatiel frees the slot and hands it to the waiter.
    for (let ticks = 0; ticks < 30; ticks++) {
      const budget = createUpstreamBudget({ maxInflight: 1, maxRps: 0, maxQueue: 2 })
      const gate = deferred()
      const first = budget.run(() => gate.promise, never())
      const ac = new AbortController()
      const waiterFn = vi.fn(async () => 'waiter')
      const waiter = budget.run(waiterFn, ac.signal).catch((e: unknown) => e)
      const second = budget.run(async () => 'second', never())
      gate.resolve('first')
      for (let i = 0; i < ticks; i++) await Promise.resolve()
      const reason = new Error(`abort after ${ticks} ticks`)
      ac.abort(reason)
      const outcome = await waiter
      // Either the abort came first and the waiter never ran, or it was already running and finished.
      expect(outcome).toBe(waiterFn.mock.calls.length === 0 ? reason : 'waiter')
      expect(await first).toBe('first')
      expect(await second).toBe('second')
      expect([budget.inflight, budget.queued]).toEqual([0, 0])
    }
  })

  it('rejects at once, without running fn, when the signal is already aborted', async () => {
    const budget = createUpstreamBudget({ maxInflight: 1, maxRps: 0, maxQueue: 1 })
    const fn = vi.fn(async () => 'ran')
    await expect(budget.run(fn, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone')
    expect(fn).not.toHaveBeenCalled()
    expect(budget.inflight).toBe(0)
  })

  it('passes the caller signal to fn', async () => {
    const budget = createUpstreamBudget({ maxInflight: 1, maxRps: 0, maxQueue: 0 })
    const signal = never()
    expect(await budget.run(async (s) => s === signal, signal)).toBe(true)
  })

  it('makes the third immediate call wait 500 ms for a token at maxRps 2, holding no slot meanwhile', async () => {
    const now = fakeTime()
    const budget = createUpstreamBudget({ maxInflight: 10, maxRps: 2, maxQueue: 10, now })
    const started: number[] = []
    const calls = [1, 2, 3].map((n) => budget.run(async () => started.push(n), never()))
    await flush()
    expect(started).toEqual([1, 2])
    expect([budget.inflight, budget.queued]).toEqual([0, 1])
    await vi.advanceTimersByTimeAsync(499)
    expect(started).toEqual([1, 2])
    await vi.advanceTimersByTimeAsync(1)
    expect(started).toEqual([1, 2, 3])
    await Promise.all(calls)
  })

  it('cancels the token timer and leaves nothing queued when the signal aborts during the wait', async () => {
    const now = fakeTime()
    const budget = createUpstreamBudget({ maxInflight: 1, maxRps: 1, maxQueue: 1, now })
    await budget.run(async () => 'burst', never())
    const ac = new AbortController()
    const fn = vi.fn(async () => 'late')
    const waiting = budget.run(fn, ac.signal)
    await flush()
    expect(vi.getTimerCount()).toBe(1)
    ac.abort(new Error('cancelled'))
    await expect(waiting).rejects.toThrow('cancelled')
    expect(vi.getTimerCount()).toBe(0)
    expect([budget.inflight, budget.queued]).toEqual([0, 0])
    expect(fn).not.toHaveBeenCalled()
  })

  it('takes tokens only at the start: an abandoned wait costs the next caller nothing', async () => {
    const now = fakeTime()
    const budget = createUpstreamBudget({ maxInflight: 10, maxRps: 1, maxQueue: 10, now })
    await budget.run(async () => 'burst', never())
    const ac = new AbortController()
    const abandoned = budget.run(async () => 'never', ac.signal)
    await flush()
    ac.abort(new Error('cancelled'))
    await expect(abandoned).rejects.toThrow('cancelled')
    const started: string[] = []
    const next = budget.run(async () => started.push('next'), never())
    await vi.advanceTimersByTimeAsync(999)
    expect(started).toEqual([])
    // One interval after the burst, not two.
    await vi.advanceTimersByTimeAsync(1)
    expect(started).toEqual(['next'])
    await next
  })

  it('never starts two at once after an abandoned wait with a later caller behind it', async () => {
    const now = fakeTime()
    const budget = createUpstreamBudget({ maxInflight: 10, maxRps: 1, maxQueue: 10, now })
    const starts: number[] = []
    const run = (signal = never()) => budget.run(async () => starts.push(now()), signal)
    await run()
    const ac = new AbortController()
    const abandoned = run(ac.signal).catch(() => 'abandoned')
    const waiting = run()
    await flush()
    ac.abort(new Error('cancelled'))
    expect(await abandoned).toBe('abandoned')
    const later = run()
    await vi.advanceTimersByTimeAsync(4000)
    await Promise.all([waiting, later])
    expect(starts).toHaveLength(3)
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(1000)
  })

  it('starts a bulk arrival at once, bucket full, after a waiter gave up its token wait with nothing in flight', async () => {
    // The abort used to clear the timer but leave it set, so later bulk arrivals never pumped: each sat until its
    // own deadline with a full bucket.
    const now = fakeTime()
    const budget = createUpstreamBudget({ maxInflight: 10, maxRps: 1, maxQueue: 10, bulkShare: 1, now })
    await budget.run(async () => 'burst', never(), 'bulk')
    const ac = new AbortController()
    const abandoned = budget.run(async () => 'never', ac.signal, 'bulk')
    await flush()
    ac.abort(new Error('deadline'))
    await expect(abandoned).rejects.toThrow('deadline')
    await vi.advanceTimersByTimeAsync(5000)
    const started = vi.fn()
    const later = budget.run(async () => started(), never(), 'bulk')
    await flush()
    expect(started).toHaveBeenCalledOnce()
    await later
  })

  it('does not pace at all when maxRps is 0', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const budget = createUpstreamBudget({ maxInflight: 100, maxRps: 0, maxQueue: 0, now: () => 0 })
    let started = 0
    const calls = Array.from({ length: 100 }, () => budget.run(async () => ++started, never()))
    await flush()
    expect(started).toBe(100)
    expect(vi.getTimerCount()).toBe(0)
    await Promise.all(calls)
  })
})
