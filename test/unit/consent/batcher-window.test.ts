import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPairBatcher } from '../../../src/consent/batcher.js'
import type { PermissionRecord } from '../../../src/upstream/port.js'

const B = '+918000000001'
const user = (n: number) => `+9190000${String(n).padStart(5, '0')}`
const record = (business: string, u: string): PermissionRecord => ({
  business,
  user: u,
  response: 'accept',
  isPermanent: true,
  responseSource: 'user_action',
  canPerformAction: true,
  expiresAtMs: null,
})

/** Answers the cross product of what it is asked, as Kaleyra may; remembers when each request went. */
function fakeClient() {
  const calls: Array<{ atMs: number; businesses: readonly string[]; users: readonly string[] }> = []
  return {
    calls,
    listPermissions: async (businesses: readonly string[], users: readonly string[]) => {
      calls.push({ atMs: Date.now(), businesses, users })
      return businesses.flatMap((b) => users.map((u) => record(b, u)))
    },
  }
}

afterEach(() => vi.useRealTimers())

/**
 * A batch whose window ran out goes one turn of the event loop later (setImmediate); the fake clock runs an
 * immediate set by a timer 1 ms later.
 */
const TURN_MS = 1
/** The batcher's clock: the fake one. */
const now = () => Date.now()

describe('createPairBatcher: a window each miss extends', () => {
  beforeEach(() => vi.useFakeTimers())

  it('stays open while misses keep arriving less than windowMs apart', async () => {
    const client = fakeClient()
    const batcher = createPairBatcher({ client, now, windowMs: 4, maxWaitMs: 20, maxUsers: 25 })
    const finds = [batcher.find(B, user(1))]
    for (const n of [2, 3, 4]) {
      await vi.advanceTimersByTimeAsync(3)
      finds.push(batcher.find(B, user(n)))
    }
    // 12 ms after the first miss: a fixed 4 ms window would have sent three requests by now.
    await vi.advanceTimersByTimeAsync(3)
    expect(client.calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1 + TURN_MS)
    expect(client.calls.map((c) => c.users)).toEqual([[user(1), user(2), user(3), user(4)]])
    expect(await Promise.all(finds)).toEqual([1, 2, 3, 4].map((n) => [record(B, user(n))]))
  })

  it('sends the batch maxWaitMs after its first miss, however many keep arriving', async () => {
    const client = fakeClient()
    const batcher = createPairBatcher({ client, now, windowMs: 2, maxWaitMs: 10, maxUsers: 25 })
    const t0 = Date.now()
    const finds = []
    for (let n = 0; n < 15; n++) {
      finds.push(batcher.find(B, user(n)))
      await vi.advanceTimersByTimeAsync(1)
    }
    await vi.advanceTimersByTimeAsync(2 + TURN_MS)
    // Misses at 0..9 ms went at 10 ms; those of 10..14 ms in the next batch, 2 ms after its last.
    expect(client.calls.map((c) => [c.atMs - t0, c.users.length])).toEqual([
      [10, 10],
      [16 + TURN_MS, 5],
    ])
    await Promise.all(finds)
  })

  it('sends a full batch at once', async () => {
    const client = fakeClient()
    const batcher = createPairBatcher({ client, now, windowMs: 2, maxWaitMs: 50, maxUsers: 3 })
    const finds = [1, 2, 3, 4].map((n) => batcher.find(B, user(n)))
    await vi.advanceTimersByTimeAsync(0)
    expect(client.calls.map((c) => c.users)).toEqual([[user(1), user(2), user(3)]])
    await vi.advanceTimersByTimeAsync(2 + TURN_MS)
    expect(client.calls.map((c) => c.users)).toEqual([[user(1), user(2), user(3)], [user(4)]])
    await Promise.all(finds)
  })

  it('sends a lone miss after windowMs, not maxWaitMs', async () => {
    const client = fakeClient()
    const batcher = createPairBatcher({ client, now, windowMs: 2, maxWaitMs: 50, maxUsers: 25 })
    const found = batcher.find(B, user(1))
    await vi.advanceTimersByTimeAsync(1)
    expect(client.calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1 + TURN_MS)
    expect(client.calls).toHaveLength(1)
    expect(await found).toEqual([record(B, user(1))])
  })

  it('asks at once and alone with windowMs 0, whatever maxWaitMs', async () => {
    const client = fakeClient()
    const batcher = createPairBatcher({ client, now, windowMs: 0, maxWaitMs: 50, maxUsers: 25 })
    await Promise.all([batcher.find(B, user(1)), batcher.find(B, user(2))])
    expect(client.calls.map((c) => c.users)).toEqual([[user(1)], [user(2)]])
  })

  it('keeps a fixed window when maxWaitMs is windowMs', async () => {
    const client = fakeClient()
    const batcher = createPairBatcher({ client, now, windowMs: 2, maxWaitMs: 2, maxUsers: 25 })
    const finds = [batcher.find(B, user(1))]
    await vi.advanceTimersByTimeAsync(1)
    finds.push(batcher.find(B, user(2)))
    await vi.advanceTimersByTimeAsync(1)
    finds.push(batcher.find(B, user(3)))
    await vi.advanceTimersByTimeAsync(2)
    expect(client.calls.map((c) => c.users)).toEqual([[user(1), user(2)], [user(3)]])
    await Promise.all(finds)
  })
})

describe('createPairBatcher: the end of a window', () => {
  // Real immediates: the turn of the event loop between a window's timer and the batch leaving.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }))
  const turn = () => new Promise((resolve) => setImmediate(resolve))

  it('takes in the misses read in the same turn of the event loop as its expired timer', async () => {
    const client = fakeClient()
    const batcher = createPairBatcher({ client, now, windowMs: 4, maxWaitMs: 20, maxUsers: 25 })
    const first = batcher.find(B, user(1))
    // A check read in the turn of the event loop that runs the timer, after it (as after a short pause).
    vi.advanceTimersByTime(5)
    const second = batcher.find(B, user(2))
    await turn()
    expect(client.calls).toHaveLength(0)
    vi.advanceTimersByTime(4)
    await turn()
    expect(client.calls.map((c) => c.users)).toEqual([[user(1), user(2)]])
    expect([await first, await second]).toEqual([[record(B, user(1))], [record(B, user(2))]])
  })
})

describe('createPairBatcher: a pause of the process', () => {
  beforeEach(() => vi.useFakeTimers())

  it('starts the window again when its timer ran later than a window past due', async () => {
    let pausedMs = 0
    const client = fakeClient()
    const batcher = createPairBatcher({
      client,
      now: () => Date.now() + pausedMs,
      windowMs: 2,
      maxWaitMs: 20,
      maxUsers: 25,
    })
    const finds = [batcher.find(B, user(1))]
    // The timer runs 5 ms late as the clock sees it; the checks sent meanwhile are still unread.
    pausedMs = 5
    await vi.advanceTimersByTimeAsync(2 + TURN_MS)
    expect(client.calls).toHaveLength(0)
    finds.push(batcher.find(B, user(2)))
    await vi.advanceTimersByTimeAsync(2 + TURN_MS)
    expect(client.calls.map((c) => c.users)).toEqual([[user(1), user(2)]])
    await Promise.all(finds)
  })
})

describe('createPairBatcher: any arrivals', () => {
  beforeEach(() => vi.useFakeTimers())

  it('never holds a pair past maxWaitMs, and answers each pair with exactly its own records', async () => {
    const arrival = fc.record({
      gapMs: fc.integer({ min: 0, max: 6 }),
      business: fc.integer({ min: 1, max: 6 }),
      user: fc.integer({ min: 1, max: 40 }),
    })
    const setup = fc.record({
      windowMs: fc.integer({ min: 1, max: 5 }),
      extraWaitMs: fc.integer({ min: 0, max: 20 }),
      maxUsers: fc.integer({ min: 1, max: 8 }),
      arrivals: fc.array(arrival, { minLength: 1, maxLength: 60 }),
    })
    await fc.assert(
      fc.asyncProperty(setup, async ({ windowMs, extraWaitMs, maxUsers, arrivals }) => {
        const maxWaitMs = windowMs + extraWaitMs
        const client = fakeClient()
        const batcher = createPairBatcher({ client, now, windowMs, maxWaitMs, maxUsers, maxBusinesses: 3 })
        const waits: Array<Promise<{ waitedMs: number; ok: boolean }>> = []
        for (const a of arrivals) {
          await vi.advanceTimersByTimeAsync(a.gapMs)
          const business = `+91800000000${a.business}`
          const startedMs = Date.now()
          waits.push(
            batcher.find(business, user(a.user)).then((records) => ({
              waitedMs: Date.now() - startedMs,
              ok:
                records.length === 1 && records[0]?.business === business && records[0].user === user(a.user),
            })),
          )
        }
        await vi.advanceTimersByTimeAsync(maxWaitMs)
        const done = await Promise.all(waits)
        expect(done.every((d) => d.ok)).toBe(true)
        expect(Math.max(...done.map((d) => d.waitedMs))).toBeLessThanOrEqual(maxWaitMs)
        expect(client.calls.every((c) => c.users.length <= maxUsers && c.businesses.length <= 3)).toBe(true)
      }),
      { numRuns: 200 },
    )
  })
})
