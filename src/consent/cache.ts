import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import type { Decision } from './decide.js'
import { decisionTtlMs, type TtlPolicy } from './ttl.js'

export interface DecisionCacheOptions extends TtlPolicy {
  /** Bound on remembered pairs (CACHE_MAX_ENTRIES); the least recently used goes first. */
  maxEntries: number
  clock: Clock
}

export interface DecisionCache {
  /** A live decision for the key, or undefined. An allow is never returned at or past its consent's expiry. */
  get(key: string): Decision | undefined
  /** Stores a decision under the TTL rules; a TTL of 0 stores nothing. Returns the TTL used (ms). */
  set(key: string, decision: Decision): number
  delete(key: string): void
  clear(): void
  readonly size: number
}

export const pairKey = (business: string, user: string): string => `${business}|${user}`

export function createDecisionCache(opts: DecisionCacheOptions): DecisionCache {
  const { clock } = opts
  const lru = new LRUCache<string, Decision>({
    max: opts.maxEntries,
    // Every entry is set with its own TTL. The injected clock drives expiry, read on every check
    // (ttlResolution 0) so a moved clock is seen at once.
    ttlResolution: 0,
    perf: clock,
  })
  // lru-cache treats an entry as live while its age is <= ttl; the gate wants it gone at age == ttl, so it reads
  // the remaining TTL from one reused status object (no allocation per lookup).
  const status: LRUCache.Status<string, Decision> = {}
  return {
    get(key) {
      const d = lru.get(key, { status })
      if (d === undefined) return undefined
      if (
        (status.remainingTTL ?? 0) <= 0 ||
        (d.allowed && d.expiresAtMs !== null && d.expiresAtMs <= clock.now())
      ) {
        lru.delete(key)
        return undefined
      }
      return d
    },
    set(key, decision) {
      const ttl = decisionTtlMs(decision, clock.now(), opts)
      if (ttl > 0) lru.set(key, decision, { ttl })
      else lru.delete(key)
      return ttl
    },
    delete: (key) => void lru.delete(key),
    clear: () => lru.clear(),
    get size() {
      return lru.size
    },
  }
}
