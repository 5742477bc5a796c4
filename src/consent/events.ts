import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'
import type { DecisionCache } from './cache.js'
import { pairKey } from './cache.js'
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
}

/** `outdated`: older than what the gate already holds for the pair, so it changes nothing. */
export type ReplyResult = 'applied' | 'duplicate' | 'outdated'
export type EvictionCause = 'error_code_138006' | 'admin'

export interface ConsentEvents {
  applyReply(reply: PermissionReply): ReplyResult
  /** Returns the pair's unanswered streak after the outcome. */
  applyOutcome(outcome: CallOutcome): number
  /** When an event last wrote this pair (epoch ms): a lookup started before it must not overwrite it. */
  lastWriteAt(key: string): number | undefined
}

/** Meta retries deliveries for up to 7 days: remember ids and event times that long. */
const EVENT_MEMORY_MS = 7 * 86_400_000
/** No approved call permission: forget the pair so the next check asks Kaleyra. */
const NO_PERMISSION = 138006
/** Business-initiated call limit reached. */
const CALL_LIMIT = 138012

export function createConsentEvents(opts: {
  cache: DecisionCache
  streaks: UnansweredStreaks
  clock: Clock
  maxEntries: number
  onEvict?: (cause: EvictionCause) => void
}): ConsentEvents {
  const { cache, streaks, clock } = opts
  const memory = { max: opts.maxEntries, ttl: EVENT_MEMORY_MS, ttlResolution: 0, perf: clock }
  const seen = new LRUCache<string, true>(memory)
  const written = new LRUCache<string, number>(memory)

  function store(key: string, decision: Decision, atMs: number): void {
    cache.set(key, decision)
    written.set(key, Math.max(atMs, written.get(key) ?? 0))
  }

  return {
    applyReply(r) {
      if (seen.has(r.id)) return 'duplicate'
      seen.set(r.id, true)
      const key = pairKey(r.business, r.user)
      const held = Math.max(cache.peek(key)?.checkedAtMs ?? -Infinity, written.get(key) ?? -Infinity)
      if (r.timestampMs < held) return 'outdated'
      const record = { ...r, canPerformAction: r.response === 'accept' }
      const decision: Decision = {
        ...decide([record], clock.now()),
        origin: 'event',
        checkedAtMs: r.timestampMs,
      }
      store(key, decision, r.timestampMs)
      if (r.response === 'accept') streaks.reset(key)
      return 'applied'
    },
    applyOutcome(o) {
      const key = pairKey(o.business, o.user)
      if (o.outcome === 'answered') streaks.reset(key)
      if (o.outcome === 'unanswered' || o.outcome === 'rejected') streaks.add(key)
      if (o.errorCode === NO_PERMISSION) {
        cache.delete(key)
        opts.onEvict?.('error_code_138006')
      } else if (o.errorCode === CALL_LIMIT) {
        const now = clock.now()
        const consent = cache.peek(key)?.consent ?? null
        const limited: Decision = {
          origin: 'event',
          allowed: false,
          reason: 'action_not_permitted',
          consent: consent && { ...consent, can_perform_action: false },
          checkedAtMs: now,
          expiresAtMs: null,
        }
        store(key, limited, now)
      }
      return streaks.count(key)
    },
    lastWriteAt: (key) => written.get(key),
  }
}
