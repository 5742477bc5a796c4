import type { Clock } from '../lib/clock.js'
import type { Decision } from './decide.js'

/** The newest fact the gate knows about one pair (docs/consent-ordering.md), as consent/facts.ts reads it. */
export interface Newest {
  /** When the newest fact became true (epoch ms). Never moves back. */
  atMs: number
  /** Whether that fact denies (a deny or an eviction): on a tie, a deny wins. */
  denied: boolean
  /** Time of the newest event applied: a deny is outdated only by a newer event. */
  eventAtMs: number
  /** Moves with every fact: a lookup that started before it moved did not see it. */
  seq: number
  /** Facts of the pair from this time on are all here (the memory's completeness when the entry was made). */
  fromMs: number
  /** The last event applied, until a later Kaleyra answer or eviction: what a lookup it overtook answers. */
  lastEvent?: Decision
}

export interface FactTableOptions {
  /** Bound on remembered pairs (CACHE_MAX_ENTRIES); the least recently used goes first. */
  maxEntries: number
  /** How long a row lives after its last write, on the clock. */
  ttlMs: number
  clock: Clock
  /** Called when the bound pushes a row out. */
  onEvict?: () => void
}

export interface FactTable {
  /** The pair's row, and marks it most recently used; undefined when none or past its TTL. */
  get(key: string): Newest | undefined
  /** Writes the pair's row (restarting its TTL), pushing out the least recently used row when full. */
  set(key: string, row: Newest): void
  readonly size: number
}

const NONE = -1
const FIRST_CAPACITY = 1024

/**
 * The fact memory's storage: one row per pair, every field in a typed array indexed by a slot, and a Map from the
 * key (the same string the decision cache holds) to the slot. An object per pair with lru-cache's bookkeeping
 * cost ~226 B per pair; this costs ~78 (bench scenario 4). The arrays grow by doubling up to `maxEntries`, so a
 * gate that remembers few pairs pays for few.
 */
export function createFactTable(opts: FactTableOptions): FactTable {
  const { maxEntries, ttlMs, clock } = opts
  const index = new Map<string, number>()
  // Events are rare next to Kaleyra answers: what they leave lives here, by slot, and -Infinity when absent.
  const events = new Map<number, { eventAtMs: number; lastEvent: Decision | undefined }>()
  const free: number[] = []
  let capacity = 0
  let used = 0
  let keys: (string | undefined)[] = []
  let atMs = new Float64Array(0)
  let fromMs = new Float64Array(0)
  let seq = new Float64Array(0)
  let writtenAtMs = new Float64Array(0)
  let denied = new Uint8Array(0)
  // Recency list: head is the most recently used; prev points towards it, next away from it.
  let prev = new Int32Array(0)
  let next = new Int32Array(0)
  let head = NONE
  let tail = NONE

  function grow(): void {
    capacity = Math.min(maxEntries, Math.max(FIRST_CAPACITY, capacity * 2))
    const f64 = (old: Float64Array) => {
      const wider = new Float64Array(capacity)
      wider.set(old)
      return wider
    }
    const i32 = (old: Int32Array) => {
      const wider = new Int32Array(capacity)
      wider.set(old)
      return wider
    }
    atMs = f64(atMs)
    fromMs = f64(fromMs)
    seq = f64(seq)
    writtenAtMs = f64(writtenAtMs)
    prev = i32(prev)
    next = i32(next)
    const wasDenied = denied
    denied = new Uint8Array(capacity)
    denied.set(wasDenied)
    // Preallocated, so the key list does not grow by its own (larger) steps.
    const wider = new Array<string | undefined>(capacity)
    for (let s = 0; s < used; s++) wider[s] = keys[s]
    keys = wider
  }

  function unlink(slot: number): void {
    const before = prev[slot] ?? NONE
    const after = next[slot] ?? NONE
    if (before === NONE) head = after
    else next[before] = after
    if (after === NONE) tail = before
    else prev[after] = before
  }

  function toFront(slot: number): void {
    prev[slot] = NONE
    next[slot] = head
    if (head === NONE) tail = slot
    else prev[head] = slot
    head = slot
  }

  function remove(slot: number): void {
    unlink(slot)
    index.delete(keys[slot] ?? '')
    keys[slot] = undefined
    events.delete(slot)
    free.push(slot)
  }

  function slotFor(key: string): number {
    if (index.size >= maxEntries && tail !== NONE) {
      remove(tail)
      opts.onEvict?.()
    }
    const reused = free.pop()
    const slot = reused ?? used++
    if (slot >= capacity) grow()
    keys[slot] = key
    index.set(key, slot)
    return slot
  }

  return {
    get(key) {
      const slot = index.get(key)
      if (slot === undefined) return undefined
      // As lru-cache counts it: a row is stale once strictly older than its TTL.
      if (clock.now() - (writtenAtMs[slot] ?? 0) > ttlMs) {
        remove(slot)
        return undefined
      }
      if (slot !== head) {
        unlink(slot)
        toFront(slot)
      }
      const event = events.get(slot)
      const row: Newest = {
        atMs: atMs[slot] ?? 0,
        denied: denied[slot] === 1,
        eventAtMs: event?.eventAtMs ?? -Infinity,
        seq: seq[slot] ?? 0,
        fromMs: fromMs[slot] ?? 0,
      }
      if (event?.lastEvent) row.lastEvent = event.lastEvent
      return row
    },
    set(key, row) {
      let slot = index.get(key)
      if (slot === undefined) slot = slotFor(key)
      else unlink(slot)
      toFront(slot)
      atMs[slot] = row.atMs
      denied[slot] = row.denied ? 1 : 0
      seq[slot] = row.seq
      fromMs[slot] = row.fromMs
      writtenAtMs[slot] = clock.now()
      if (row.eventAtMs === -Infinity && !row.lastEvent) events.delete(slot)
      else events.set(slot, { eventAtMs: row.eventAtMs, lastEvent: row.lastEvent })
    },
    get size() {
      return index.size
    },
  }
}
