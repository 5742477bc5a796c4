import type { Clock } from '../../lib/clock.js'
import type { BusMessage } from '../../schemas/decision.js'
import type { DecisionCache } from '../cache.js'
import type { PairFacts } from '../facts.js'
import { createEvictions } from './evictions.js'
import { createFirstSeen, type Shared } from './memory.js'
import { createEventOrder } from './order.js'
import { createApplyOutcome } from './outcomes.js'
import { createApplyReply } from './replies.js'
import { createStreakEvents } from './streak-events.js'
import type { UnansweredStreaks } from '../streaks.js'

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

/**
 * `outdated`: not newer than what the gate knows of the pair, so it changes nothing. `untrusted`: an accept the
 * gate cannot prove newest (docs/consent-ordering.md): it evicted the pair instead of granting.
 */
export type ReplyResult = 'applied' | 'duplicate' | 'outdated' | 'untrusted'
export type EvictionCause = 'error_code_138006' | 'admin'

export interface ConsentEvents {
  applyReply(reply: PermissionReply): Promise<ReplyResult>
  /** Returns the pair's unanswered streak after the outcome. */
  applyOutcome(outcome: CallOutcome): Promise<number>
  /** Operator invalidation: this gate, the shared tier and every other gate. Returns local evictions. */
  evict(scope: { business?: string; user?: string }): Promise<number>
  /** Applies what another gate published: its webhooks and outcomes reach this gate too. */
  applyRemote(message: BusMessage): void
  /** Takes the fleet's streak for the pair (shared mode), so a gate that started late knows it too. */
  syncStreak(key: string): Promise<void>
}

/** Webhooks, call outcomes and evictions, put in order by the pair facts, here and, in shared mode, in the fleet. */
export function createConsentEvents(opts: {
  cache: DecisionCache
  facts: PairFacts
  streaks: UnansweredStreaks
  clock: Clock
  maxEntries: number
  onEvict?: (cause: EvictionCause) => void
  /** With REDIS_URL: dedupe and streaks across the fleet, and every write published to the other gates. */
  shared?: Shared
}): ConsentEvents {
  const { cache, streaks, clock, shared } = opts
  const firstSeen = createFirstSeen(opts.maxEntries, clock, shared)
  const order = createEventOrder({ cache, facts: opts.facts, shared })
  const streakEvents = createStreakEvents({ streaks, shared })
  const { syncStreak } = streakEvents
  const evictions = createEvictions({ cache, order, shared })
  const { evictLocal, evictMany } = evictions

  return {
    applyReply: createApplyReply({ clock, firstSeen, order, streakEvents, streaks }),
    applyOutcome: createApplyOutcome({ ...opts, streakEvents, firstSeen, order, evictions }),
    evict: evictions.evict,
    applyRemote(m) {
      switch (m.type) {
        case 'decision':
          void order.store(m.key, m.decision, 'remote')
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
    syncStreak,
  }
}
