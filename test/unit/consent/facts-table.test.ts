import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../../src/lib/clock.js'
import { createFactTable, type Newest } from '../../../src/consent/facts-table.js'
import { allowDecision } from '../../helpers/decisions.js'

const T0 = Date.UTC(2026, 10, 25, 12)
const TTL_MS = 60_000
const key = (i: number) => `+918000000001|+91${9_000_000_000 + i}`
const row = (seq: number, extra: Partial<Newest> = {}): Newest => ({
  atMs: T0 + seq,
  denied: seq % 2 === 0,
  eventAtMs: -Infinity,
  seq,
  fromMs: T0 - seq,
  ...extra,
})

function setup(maxEntries: number) {
  const clock = createManualClock(T0)
  let evicted = 0
  const table = createFactTable({ maxEntries, ttlMs: TTL_MS, clock, onEvict: () => evicted++ })
  return { clock, table, evicted: () => evicted }
}

describe('fact table', () => {
  it('reads back every field it was given, the last event included', () => {
    const { table } = setup(10)
    const event = allowDecision(T0, null)
    table.set(key(1), row(1))
    table.set(key(2), row(2, { eventAtMs: T0 + 7, lastEvent: event }))
    expect(table.get(key(1))).toEqual(row(1))
    expect(table.get(key(2))).toEqual(row(2, { eventAtMs: T0 + 7, lastEvent: event }))
    // A later write without an event drops the last event but keeps the time it gives.
    table.set(key(2), row(3, { eventAtMs: T0 + 7 }))
    expect(table.get(key(2))).toEqual(row(3, { eventAtMs: T0 + 7 }))
    expect(table.get(key(3))).toBeUndefined()
  })

  it('pushes out the least recently used row at its bound, a read counting as a use', () => {
    const { table, evicted } = setup(3)
    for (const i of [1, 2, 3]) table.set(key(i), row(i))
    table.get(key(1))
    table.set(key(4), row(4))
    expect(evicted()).toBe(1)
    expect(table.get(key(2))).toBeUndefined()
    expect([1, 3, 4].map((i) => table.get(key(i))?.seq)).toEqual([1, 3, 4])
    // Rewriting a held row is no new row: nothing is pushed out.
    table.set(key(3), row(5))
    expect(evicted()).toBe(1)
    expect(table.size).toBe(3)
  })

  it('forgets a row once strictly older than its TTL, counted from its last write, and reuses its slot', () => {
    const { clock, table, evicted } = setup(2)
    table.set(key(1), row(1))
    table.set(key(2), row(2))
    clock.advance(TTL_MS / 2)
    table.set(key(2), row(3))
    clock.advance(TTL_MS / 2)
    expect(table.get(key(1))?.seq).toBe(1)
    clock.advance(1)
    expect(table.get(key(1))).toBeUndefined()
    expect(table.get(key(2))?.seq).toBe(3)
    // The expired row's slot takes a new pair without pushing out the live one.
    table.set(key(3), row(4))
    expect(evicted()).toBe(0)
    expect(table.get(key(2))?.seq).toBe(3)
    expect(table.get(key(3))?.seq).toBe(4)
  })

  it('keeps every row and the recency order as it grows past its first arrays', () => {
    const n = 5000
    const { table, evicted } = setup(n)
    for (let i = 0; i < n; i++) table.set(key(i), row(i, i % 7 ? {} : { eventAtMs: T0 - i }))
    for (let i = 0; i < n; i += 2) table.get(key(i))
    for (let i = 0; i < n / 2; i++) table.set(key(n + i), row(n + i))
    expect(evicted()).toBe(n / 2)
    expect(table.size).toBe(n)
    // The odd pairs, never read after their write, went first.
    for (let i = 0; i < n; i++) {
      const expected = i % 2 ? undefined : row(i, i % 7 ? {} : { eventAtMs: T0 - i })
      expect(table.get(key(i))).toEqual(expected)
    }
  })
})
