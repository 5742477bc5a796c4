import type { Clock } from '../clock.js'
import type { DecisionCache } from './cache.js'
import type { Decision } from './decide.js'
import { eventMemory, type Shared } from './event-memory.js'

interface Written {
  version: number
  /** Timestamp of the last event (epoch ms) and whether it denied: ordering needs both. */
  atMs: number
  denied: boolean
  decision?: Decision
}

/** Per-pair versions and the time of the last event: what decides whether an event is outdated. */
export interface EventOrder {
  /** Stores an event's decision here; only the gate that received the event writes Redis and tells the others. */
  store: (key: string, decision: Decision, origin: 'local' | 'remote') => boolean
  /** Moves the pair's version (an eviction of the pair). */
  bump: (key: string) => void
  /** Moves every pair's version (an eviction of a whole business or of everything). */
  bumpAll: () => void
  version: (key: string) => number
  latest: (key: string) => Decision | undefined
}

export function createEventOrder(opts: {
  cache: DecisionCache
  clock: Clock
  maxEntries: number
  shared?: Pick<Shared, 'writeDecision' | 'publish'>
}): EventOrder {
  const { cache, shared } = opts
  const written = eventMemory<Written>(opts.maxEntries, opts.clock)
  let versions = 0
  /** Version of the last eviction of a whole business or of everything: it moves every pair's version. */
  let massEviction = 0

  function bump(key: string, change: Partial<Written> = {}): void {
    const held = written.get(key) ?? { version: 0, atMs: -Infinity, denied: false }
    written.set(key, { ...held, ...change, version: ++versions })
  }

  /**
   * Fail-closed ordering. A deny is outdated only by a strictly newer event. An allow is outdated by an event at
   * the same time or later, and by an answer Kaleyra gave after the reply: Kaleyra already knew of it, and a
   * newer deny may be on its way.
   */
  function outdated(key: string, decision: Decision): boolean {
    const held = written.get(key)
    if (!decision.allowed) return held !== undefined && held.atMs > decision.checkedAtMs
    const upstream = cache.peek(key)
    const upstreamAt = upstream?.origin === 'upstream' ? upstream.checkedAtMs : -Infinity
    return (held !== undefined && held.atMs >= decision.checkedAtMs) || upstreamAt > decision.checkedAtMs
  }

  function store(key: string, decision: Decision, origin: 'local' | 'remote'): boolean {
    if (outdated(key, decision)) return false
    const ttlMs = cache.set(key, decision)
    bump(key, { atMs: decision.checkedAtMs, denied: !decision.allowed, decision })
    if (origin === 'local') {
      shared?.writeDecision(key, decision, ttlMs, 'event')
      shared?.publish({ type: 'decision', key, decision })
    }
    return true
  }

  return {
    store,
    bump: (key) => bump(key),
    bumpAll: () => void (massEviction = ++versions),
    version: (key) => Math.max(written.get(key)?.version ?? 0, massEviction),
    latest: (key) => written.get(key)?.decision,
  }
}
