// Child process (node --expose-gc): what one cached decision costs, and which of its pieces costs what.
import { createDecisionCache, pairKey } from '../../src/consent/cache.js'
import { createPairFacts } from '../../src/consent/facts.js'
import { decide, type Decision } from '../../src/consent/decide.js'
import { normalizeUpstreamPhone, parsePhone } from '../../src/lib/phone.js'
import { parseExpiry, readEnvelope } from '../../src/upstream/kaleyra/client.js'
import type { PermissionRecord } from '../../src/upstream/port.js'
import { recordExpiry } from '../../src/upstream/kaleyra/wire.js'
import { systemClock } from '../../src/lib/clock.js'
import { BUSINESSES, canCallPath, consentFor, userNumber } from './fixtures.js'
import { serve } from './rpc.js'

const PAGE = 25
/** Keeps what is being measured reachable until it is measured. */
export let sink: unknown
const gc =
  globalThis.gc ??
  (() => {
    throw new Error('run with --expose-gc')
  })

export interface Footprint {
  heapUsed: number
  rss: number
}

function settle(): Footprint {
  for (let i = 0; i < 4; i++) gc()
  const m = process.memoryUsage()
  // Typed arrays keep their contents outside the JS heap: counted with it, or the fact memory would look free.
  return { heapUsed: m.heapUsed + m.arrayBuffers, rss: m.rss }
}

/** The page of Kaleyra's answer holding users [from, from + PAGE), as the client reads it off the wire. */
function readPage(from: number, nowMs: number): PermissionRecord[] {
  const data = Array.from({ length: PAGE }, (_, k) => {
    const c = consentFor(from + k, nowMs, BUSINESSES[0])
    return {
      business_phone_number: c.business,
      user_phone_number: c.user,
      can_perform_action: c.can_perform_action,
      response: c.response,
      is_permanent: c.is_permanent,
      response_source: 'user_action',
      expiration_timestamp: c.expiresAt == null ? null : new Date(c.expiresAt).toISOString(),
    }
  })
  const text = JSON.stringify({
    code: 'WA200',
    message: 'ok',
    data,
    error: {},
    limit: PAGE,
    offset: 0,
    total: PAGE,
  })
  // The same steps as the client's toRecord: normalize the numbers, parse the expiry.
  return readEnvelope(200, undefined, text, nowMs).data.map((r) => ({
    business: normalizeUpstreamPhone(r.business_phone_number) ?? '',
    user: normalizeUpstreamPhone(r.user_phone_number) ?? '',
    response: r.response,
    isPermanent: r.is_permanent,
    responseSource: r.response_source,
    canPerformAction: r.can_perform_action,
    expiresAtMs: parseExpiry(recordExpiry(r)),
  }))
}

/** The key as the route builds it: from the query string, through parsePhone, into pairKey. */
function keyFor(i: number): string {
  const query = new URLSearchParams(canCallPath(BUSINESSES[0], userNumber(i)).split('?')[1])
  const b = parsePhone(query.get('business') ?? '')
  const u = parsePhone(query.get('user') ?? '')
  return pairKey(b.ok ? b.value : '', u.ok ? u.value : '')
}

/** Every decision the gate would cache for n distinct users of one business, made by decide(). */
function forEachDecision(n: number, fn: (i: number, key: string, decision: Decision) => void): void {
  const nowMs = systemClock.now()
  for (let from = 0; from < n; from += PAGE) {
    const records = readPage(from, nowMs)
    records.forEach((record, k) => {
      if (from + k < n) fn(from + k, keyFor(from + k), decide([record], nowMs))
    })
  }
}

/** Bytes per entry that holding `fill`'s results costs, measured around it; `holder` slots are preallocated. */
function measure(n: number, fill: (holder: unknown[]) => unknown): { heap: number; rss: number } {
  const holder: unknown[] = new Array(n).fill(0)
  const before = settle()
  const kept = fill(holder)
  const after = settle()
  // Both stay reachable until `after` is read; dropped right after.
  sink = [kept, holder]
  sink = undefined
  return { heap: (after.heapUsed - before.heapUsed) / n, rss: (after.rss - before.rss) / n }
}

const newCache = (n: number) =>
  createDecisionCache({ maxEntries: n, maxTtlMs: 300_000, negativeTtlMs: 30_000, clock: systemClock })
// As src/http/gate.ts builds it, bounded by CACHE_MAX_ENTRIES like the cache.
const newFacts = (n: number) =>
  createPairFacts({ clock: systemClock, maxEntries: n, trustWindowMs: 300_000, negativeTtlMs: 30_000 })

serve({
  measure(n: number) {
    const full = measure(n, () => {
      const cache = newCache(n)
      forEachDecision(n, (_i, key, decision) => cache.set(key, decision))
      if (cache.size !== n) throw new Error(`cache holds ${cache.size}, expected ${n}`)
      return cache
    })
    // What a pair warmed by a Kaleyra answer costs the whole gate: the lookup marks, settles (the fact memory
    // records the answer) and caches it, under one key string.
    const gate = measure(n, () => {
      const cache = newCache(n)
      const facts = newFacts(n)
      forEachDecision(n, (_i, key, decision) => {
        if (facts.settle(key, decision, facts.mark(key)).store) cache.set(key, decision)
      })
      if (cache.size !== n) throw new Error(`cache holds ${cache.size}, expected ${n}`)
      return [cache, facts]
    })
    const keys = measure(n, (holder) => forEachDecision(n, (i, key) => (holder[i] = key)))
    const decisions = measure(n, (holder) =>
      forEachDecision(n, (i, _key, decision) => (holder[i] = decision)),
    )
    // The cache's own structure: every key is already held elsewhere and every entry is one shared decision.
    const shared = decide([], systemClock.now())
    const keyList: string[] = []
    forEachDecision(n, (i, key) => (keyList[i] = key))
    const structure = measure(n, () => {
      const cache = createDecisionCache({
        maxEntries: n,
        maxTtlMs: 300_000,
        negativeTtlMs: 30_000,
        clock: systemClock,
      })
      for (const key of keyList) cache.set(key, shared)
      return cache
    })
    // The fact memory alone, its keys held elsewhere (in the gate, by the cache).
    const facts = measure(n, () => {
      const memory = newFacts(n)
      const nowMs = systemClock.now()
      for (const key of keyList) memory.settle(key, shared, { seq: 0, atMs: nowMs })
      return memory
    })
    sink = keyList
    return { full, keys, decisions, structure, facts, gate }
  },
})
