import { sparseLru } from '../lib/sparse-lru.js'
import type { Clock } from '../lib/clock.js'

/** Meta's permission-request horizon; Meta revokes after 4 consecutive unanswered calls, and the limit stops short. */
const STREAK_TTL_MS = 7 * 86_400_000

export interface StreakOptions {
  /** Consecutive unanswered or rejected calls at which checks answer `unanswered_streak` (default 3; 0: off). */
  limit: number
  /** Bound on remembered pairs of each kind: counting (below the limit) and blocked (at it). */
  maxEntries: number
  clock: Clock
  /** Counts a pair dropped at the bound, by whether it was blocked. */
  onForget?: (state: 'counting' | 'blocked') => void
}

interface Streak {
  count: number
  /** When it last changed: a fleet count read back counts as now. */
  atMs: number
}

export interface UnansweredStreaks {
  /** Adds one unanswered or rejected call; returns the new streak. */
  add(key: string): number
  /** An answered call or a fresh accept ends the streak. */
  reset(key: string): void
  /** Takes the fleet's count (shared mode); 0 ends the streak. */
  /** `atMs`: when the streak's last call was (default now); a merge carries it over (identity-events.ts). */
  set(key: string, count: number, atMs?: number): void
  /** True while the pair's streak is at the limit. */
  blocked(key: string): boolean
  count(key: string): number
  /** When the streak last grew (epoch ms): only an accept newer than that ends it. -Infinity when none. */
  lastAtMs(key: string): number
}

/**
 * Per-pair streaks, kept 7 days (Meta's permission-request horizon) on the injected clock. Blocked pairs live in
 * a memory of their own, so a flood of counting pairs never pushes a block out (docs/consent-ordering.md).
 */
export function createUnansweredStreaks(opts: StreakOptions): UnansweredStreaks {
  const memory = (state: 'counting' | 'blocked') =>
    sparseLru<Streak>(opts.maxEntries, {
      ttl: STREAK_TTL_MS,
      ttlResolution: 0,
      perf: opts.clock,
      dispose: (_v, _k, reason) => reason === 'evict' && opts.onForget?.(state),
    })
  const counting = memory('counting')
  const blockedPairs = memory('blocked')
  const isBlocked = (n: number) => opts.limit > 0 && n >= opts.limit
  const held = (key: string) => blockedPairs.get(key) ?? counting.get(key)
  const count = (key: string) => held(key)?.count ?? 0
  function set(key: string, n: number, atMs = opts.clock.now()): void {
    // delete() disposes with reason 'delete', which is not counted as forgetting.
    blockedPairs.delete(key)
    counting.delete(key)
    if (n > 0) (isBlocked(n) ? blockedPairs : counting).set(key, { count: n, atMs })
  }
  return {
    add(key) {
      const next = count(key) + 1
      set(key, next)
      return next
    },
    reset: (key) => set(key, 0),
    set,
    blocked: (key) => isBlocked(count(key)),
    count,
    lastAtMs: (key) => held(key)?.atMs ?? -Infinity,
  }
}
