import { sparseLru } from './sparse-lru.js'
import type { Clock } from '../clock.js'

/** Meta revokes a permission after 4 consecutive unanswered calls; the gate stops short of that. */
const STREAK_TTL_MS = 7 * 86_400_000

export interface StreakOptions {
  /** Consecutive unanswered or rejected calls at which checks answer `unanswered_streak` (default 3; 0: off). */
  limit: number
  /** Bound on remembered pairs. */
  maxEntries: number
  clock: Clock
}

export interface UnansweredStreaks {
  /** Adds one unanswered or rejected call; returns the new streak. */
  add(key: string): number
  /** An answered call or a fresh accept ends the streak. */
  reset(key: string): void
  /** Takes the fleet's count (shared mode); 0 ends the streak. */
  set(key: string, count: number): void
  /** True while the pair's streak is at the limit. */
  blocked(key: string): boolean
  count(key: string): number
}

/** Per-pair streaks, bounded in count and kept 7 days (Meta's permission-request horizon) on the injected clock. */
export function createUnansweredStreaks(opts: StreakOptions): UnansweredStreaks {
  const streaks = sparseLru<number>(opts.maxEntries, {
    ttl: STREAK_TTL_MS,
    ttlResolution: 0,
    perf: opts.clock,
  })
  const count = (key: string) => streaks.get(key) ?? 0
  return {
    add(key) {
      const next = count(key) + 1
      streaks.set(key, next)
      return next
    },
    reset: (key) => void streaks.delete(key),
    set: (key, count) => void (count > 0 ? streaks.set(key, count) : streaks.delete(key)),
    blocked: (key) => opts.limit > 0 && count(key) >= opts.limit,
    count,
  }
}
