import type { LRUCache } from 'lru-cache'
import { sparseLru } from '../../lib/sparse-lru.js'
import type { Clock } from '../../lib/clock.js'
import type { SharedTier } from '../../shared/port.js'

/** Meta retries deliveries for up to 7 days: remember ids and event times that long. */
export const EVENT_MEMORY_MS = 7 * 86_400_000

/** The part of the Redis tier (REDIS_URL) that events use. */
export type Shared = Pick<
  SharedTier,
  | 'markSeen'
  | 'incrStreak'
  | 'setStreak'
  | 'readStreak'
  | 'writeFact'
  | 'evictFact'
  | 'deleteDecisions'
  | 'readDecision'
  | 'publish'
>

/** What the gate remembers of events: bounded in count, kept EVENT_MEMORY_MS on the injected clock. */
export function eventMemory<V extends NonNullable<unknown>>(max: number, clock: Clock): LRUCache<string, V> {
  return sparseLru<V>(max, { ttl: EVENT_MEMORY_MS, ttlResolution: 0, perf: clock })
}

/** Fleet-wide first sighting when Redis can say, this gate's memory as well (and alone when it cannot). */
export function createFirstSeen(
  max: number,
  clock: Clock,
  shared?: Pick<Shared, 'markSeen'>,
): (id: string) => Promise<boolean> {
  const seen = eventMemory<true>(max, clock)
  return async function firstSeen(id) {
    const local = !seen.has(id)
    seen.set(id, true)
    const fleet = await shared?.markSeen(id, EVENT_MEMORY_MS)
    return local && fleet !== false
  }
}
