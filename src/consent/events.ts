import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import type { DecisionCache } from './cache.js'
import { pairKey } from './cache.js'
import { decide, type Decision } from './decide.js'
import type { UnansweredStreaks } from './streaks.js'
import type { BusMessage, SharedTier } from '../shared/redis-tier.js'

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
  /** When an event last wrote this pair (epoch ms): a lookup started before it must not overwrite it. */
  lastWriteAt(key: string): number | undefined
}

/** Meta retries deliveries for up to 7 days: remember ids and event times that long. */
const EVENT_MEMORY_MS = 7 * 86_400_000
/** No approved call permission: forget the pair so the next check asks Kaleyra. */
const NO_PERMISSION = 138006
/** Business-initiated call limit reached. */
const CALL_LIMIT = 138012

type Shared = Pick<
  SharedTier,
  'markSeen' | 'incrStreak' | 'resetStreak' | 'readStreak' | 'writeDecision' | 'deleteDecisions' | 'publish'
>

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
  const written = new LRUCache<string, number>(memory)

  /** Writes here unless this gate already holds something newer; true when written. */
  function storeLocal(key: string, decision: Decision): boolean {
    const held = Math.max(cache.peek(key)?.checkedAtMs ?? -Infinity, written.get(key) ?? -Infinity)
    if (decision.checkedAtMs < held) return false
    const ttlMs = cache.set(key, decision)
    written.set(key, decision.checkedAtMs)
    shared?.writeDecision(key, decision, ttlMs)
    return true
  }

  function store(key: string, decision: Decision): boolean {
    if (!storeLocal(key, decision)) return false
    shared?.publish({ type: 'decision', key, decision })
    return true
  }

  function setStreak(key: string, count: number): void {
    streaks.set(key, count)
    shared?.publish({ type: 'streak', key, count })
  }

  /** Fleet-wide first sighting when Redis can say, this gate's memory as well (and alone when it cannot). */
  async function firstSeen(id: string): Promise<boolean> {
    const local = !seen.has(id)
    seen.set(id, true)
    const fleet = await shared?.markSeen(id, EVENT_MEMORY_MS)
    return fleet ?? local
  }

  async function refreshStreak(key: string, announced: number): Promise<void> {
    streaks.set(key, (await shared?.readStreak(key)) ?? announced)
  }

  return {
    async applyReply(r) {
      if (!(await firstSeen(r.id))) return 'duplicate'
      const key = pairKey(r.business, r.user)
      const record = { ...r, canPerformAction: r.response === 'accept' }
      const decision: Decision = {
        ...decide([record], clock.now()),
        origin: 'event',
        checkedAtMs: r.timestampMs,
      }
      if (!store(key, decision)) return 'outdated'
      if (r.response === 'accept') {
        // DEL before the announcement: one connection keeps the order, so peers reading back see 0.
        shared?.resetStreak(key)
        setStreak(key, 0)
      }
      return 'applied'
    },
    async applyOutcome(o) {
      const key = pairKey(o.business, o.user)
      if (o.outcome === 'answered') {
        // DEL before the announcement: one connection keeps the order, so peers reading back see 0.
        shared?.resetStreak(key)
        setStreak(key, 0)
      }
      if (o.outcome === 'unanswered' || o.outcome === 'rejected') {
        setStreak(key, (await shared?.incrStreak(key, EVENT_MEMORY_MS)) ?? streaks.count(key) + 1)
      }
      if (o.errorCode === NO_PERMISSION) {
        cache.delete(key)
        opts.onEvict?.('error_code_138006')
        void shared?.deleteDecisions({ key })
        shared?.publish({ type: 'evict', key })
      } else if (o.errorCode === CALL_LIMIT) {
        store(key, callLimited(cache.peek(key), clock.now()))
      }
      return streaks.count(key)
    },
    async evict({ business, user }) {
      const key = business !== undefined && user !== undefined ? pairKey(business, user) : undefined
      const n = key ? Number(cache.delete(key)) : business ? cache.deleteBusiness(business) : cache.clear()
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
      if (m.type === 'decision') storeLocal(m.key, m.decision)
      // Streak messages can cross on the wire; the count in Redis is the truth, so read it back.
      else if (m.type === 'streak') void refreshStreak(m.key, m.count)
      else if (m.type === 'evict') cache.delete(m.key)
      else if (m.type === 'evict_business') cache.deleteBusiness(m.business)
      else cache.clear()
    },
    lastWriteAt: (key) => written.get(key),
  }
}

/** The call limit is reached: a deny that keeps what is known of the consent. */
function callLimited(held: Decision | undefined, now: number): Decision {
  const consent = held?.consent ?? null
  return {
    origin: 'event',
    allowed: false,
    reason: 'action_not_permitted',
    consent: consent && { ...consent, can_perform_action: false },
    checkedAtMs: now,
    expiresAtMs: null,
  }
}
