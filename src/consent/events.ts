import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import type { BusMessage } from '../schemas/decision.js'
import type { SharedTier } from '../shared/redis-tier.js'
import { pairKey, type DecisionCache } from './cache.js'
import { decide, type Decision } from './decide.js'
import type { UnansweredStreaks } from './streaks.js'

/** A `call_permission_reply` as Meta sends it, numbers normalized. */
export interface PermissionReply {
  /** Meta's message id (wamid...): delivery is at-least-once, so this is the dedupe key. */
  id: string
  business: string
  user: string
  /** When the user replied (epoch ms). */
  timestampMs: number
  response: string
  isPermanent: boolean
  expiresAtMs: number | null
  responseSource: string
}

export type Outcome = 'answered' | 'unanswered' | 'rejected' | 'failed'
export interface CallOutcome {
  business: string
  user: string
  outcome: Outcome
  errorCode?: number
  /** The decision the call was placed on: a report sent twice counts once. */
  decisionId?: string
}

/** `outdated`: older than what the gate already holds for the pair, so it changes nothing. */
export type ReplyResult = 'applied' | 'duplicate' | 'outdated'
export type EvictionCause = 'error_code_138006' | 'admin'

export interface ConsentEvents {
  applyReply(reply: PermissionReply): Promise<ReplyResult>
  /** Returns the pair's unanswered streak after the outcome. */
  applyOutcome(outcome: CallOutcome): Promise<number>
  /** Operator invalidation: this gate, the shared tier and every other gate. Returns local evictions. */
  evict(scope: { business?: string; user?: string }): Promise<number>
  /** Applies what another gate published: its webhooks and outcomes reach this gate too. */
  applyRemote(message: BusMessage): void
  /**
   * A counter that moves whenever an event writes or evicts the pair, here or on another gate. A lookup that
   * started before it moved must not store its answer: the event is newer than what Kaleyra was asked.
   */
  version(key: string): number
  /** The decision the last event stored for the pair, if any. */
  latest(key: string): Decision | undefined
  /** Takes the fleet's streak for the pair (shared mode), so a gate that started late knows it too. */
  syncStreak(key: string): Promise<void>
}

/** Meta retries deliveries for up to 7 days: remember ids and event times that long. */
const EVENT_MEMORY_MS = 7 * 86_400_000
/** No approved call permission: forget the pair so the next check asks Kaleyra. */
const NO_PERMISSION = 138006
/** Business-initiated call limit reached. */
const CALL_LIMIT = 138012

type Shared = Pick<
  SharedTier,
  'markSeen' | 'incrStreak' | 'setStreak' | 'readStreak' | 'writeDecision' | 'deleteDecisions' | 'publish'
>

interface Written {
  version: number
  /** Timestamp of the last event (epoch ms) and whether it denied: ordering needs both. */
  atMs: number
  denied: boolean
  decision?: Decision
}

export function createConsentEvents(opts: {
  cache: DecisionCache
  streaks: UnansweredStreaks
  clock: Clock
  maxEntries: number
  onEvict?: (cause: EvictionCause) => void
  /** With REDIS_URL: dedupe and streaks across the fleet, and every write published to the other gates. */
  shared?: Shared
}): ConsentEvents {
  const { cache, streaks, clock, shared } = opts
  const memory = { max: opts.maxEntries, ttl: EVENT_MEMORY_MS, ttlResolution: 0, perf: clock }
  const seen = new LRUCache<string, true>(memory)
  const written = new LRUCache<string, Written>(memory)
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

  /** Stores an event's decision here; only the gate that received the event writes Redis and tells the others. */
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

  function announceStreak(key: string, count: number): void {
    streaks.set(key, count)
    shared?.publish({ type: 'streak', key, count })
  }

  /** The streak only grows, unless an answered call or an accept ends it (a Redis restart must not end it). */
  async function addToStreak(key: string): Promise<number> {
    const local = streaks.count(key) + 1
    const fleet = await shared?.incrStreak(key, EVENT_MEMORY_MS)
    const count = Math.max(local, fleet ?? 0)
    if (fleet !== undefined && fleet < count) shared?.setStreak(key, count, EVENT_MEMORY_MS)
    return count
  }

  function endStreak(key: string): void {
    // Reset in Redis before the announcement: one connection keeps the order, so peers reading back see 0.
    shared?.setStreak(key, 0, EVENT_MEMORY_MS)
    announceStreak(key, 0)
  }

  /** Fleet-wide first sighting when Redis can say, this gate's memory as well (and alone when it cannot). */
  async function firstSeen(id: string): Promise<boolean> {
    const local = !seen.has(id)
    seen.set(id, true)
    const fleet = await shared?.markSeen(id, EVENT_MEMORY_MS)
    return local && fleet !== false
  }

  function evictMany(business?: string): number {
    massEviction = ++versions
    return business ? cache.deleteBusiness(business) : cache.clear()
  }

  async function syncStreak(key: string): Promise<void> {
    const fleet = await shared?.readStreak(key)
    if (fleet !== undefined && fleet > streaks.count(key)) streaks.set(key, fleet)
  }

  function evictLocal(key: string): boolean {
    bump(key)
    return cache.delete(key)
  }

  return {
    async applyReply(r) {
      if (!(await firstSeen(r.id))) return 'duplicate'
      const key = pairKey(r.business, r.user)
      // A reply cannot come from the future; a clock far ahead must not make every later event "outdated".
      const atMs = Math.min(r.timestampMs, clock.now())
      const record = { ...r, canPerformAction: r.response === 'accept' }
      const decision: Decision = { ...decide([record], clock.now()), origin: 'event', checkedAtMs: atMs }
      if (!store(key, decision, 'local')) return 'outdated'
      if (r.response === 'accept') endStreak(key)
      return 'applied'
    },
    async applyOutcome(o) {
      const key = pairKey(o.business, o.user)
      if (o.decisionId !== undefined && !(await firstSeen(`outcome:${o.decisionId}:${o.outcome}`))) {
        return streaks.count(key)
      }
      if (o.outcome === 'answered') endStreak(key)
      if (o.outcome === 'unanswered' || o.outcome === 'rejected') announceStreak(key, await addToStreak(key))
      if (o.errorCode === NO_PERMISSION) {
        evictLocal(key)
        opts.onEvict?.('error_code_138006')
        await shared?.deleteDecisions({ key })
        shared?.publish({ type: 'evict', key })
      } else if (o.errorCode === CALL_LIMIT) {
        store(key, callLimited(cache.peek(key), clock.now()), 'local')
      }
      return streaks.count(key)
    },
    async evict({ business, user }) {
      const key = business !== undefined && user !== undefined ? pairKey(business, user) : undefined
      const n = key ? Number(evictLocal(key)) : evictMany(business)
      await shared?.deleteDecisions({ key, business })
      shared?.publish(
        key
          ? { type: 'evict', key }
          : business
            ? { type: 'evict_business', business }
            : { type: 'evict_all' },
      )
      return n
    },
    applyRemote(m) {
      switch (m.type) {
        case 'decision':
          store(m.key, m.decision, 'remote')
          break
        case 'streak':
          // Streak messages can cross on the wire: an end is final, a count is read back from Redis.
          if (m.count === 0) streaks.set(m.key, 0)
          else void syncStreak(m.key)
          break
        case 'evict':
          evictLocal(m.key)
          break
        case 'evict_business':
          evictMany(m.business)
          break
        case 'evict_all':
          evictMany()
          break
      }
    },
    version: (key) => Math.max(written.get(key)?.version ?? 0, massEviction),
    latest: (key) => written.get(key)?.decision,
    syncStreak,
  }
}

/** The call limit is reached: a deny that keeps what is known of the consent. */
function callLimited(held: Decision | undefined, now: number): Decision {
  return {
    origin: 'event',
    allowed: false,
    reason: 'action_not_permitted',
    response: held?.response ?? null,
    isPermanent: held?.isPermanent ?? false,
    responseSource: held?.responseSource ?? '',
    canPerformAction: false,
    checkedAtMs: now,
    // The consent's own expiry, as reported; a deny's TTL never depends on it.
    expiresAtMs: held?.expiresAtMs ?? null,
  }
}
