import type { Clock } from '../../lib/clock.js'
import { pairKey, type DecisionCache } from '../cache.js'
import type { Decision } from '../decide.js'
import type { Evictions } from './evictions.js'
import type { Shared } from './memory.js'
import type { EventOrder } from './order.js'
import type { StreakEvents } from './streak-events.js'
import type { ConsentEvents, EvictionCause } from './types.js'
import type { UnansweredStreaks } from '../streaks.js'

/** No approved call permission: forget the pair so the next check asks Kaleyra. */
const NO_PERMISSION = 138006
/** Business-initiated call limit reached. */
const CALL_LIMIT = 138012

/** A call's outcome moves the pair's streak; Meta's error code on it may also say what became of the consent. */
export function createApplyOutcome(opts: {
  cache: DecisionCache
  clock: Clock
  streaks: UnansweredStreaks
  streakEvents: Pick<StreakEvents, 'announceStreak' | 'addToStreak' | 'endStreak'>
  firstSeen: (id: string) => Promise<boolean>
  order: Pick<EventOrder, 'store'>
  evictions: Pick<Evictions, 'evictLocal'>
  onEvict?: (cause: EvictionCause) => void
  shared?: Pick<Shared, 'evictFact' | 'publish'>
}): ConsentEvents['applyOutcome'] {
  const { cache, clock, streaks, firstSeen, shared } = opts
  const { announceStreak, addToStreak, endStreak } = opts.streakEvents
  return async function applyOutcome(o) {
    const key = pairKey(o.business, o.user)
    if (o.decisionId !== undefined && !(await firstSeen(`outcome:${o.decisionId}:${o.outcome}`))) {
      return streaks.count(key)
    }
    if (o.outcome === 'answered') endStreak(key)
    if (o.outcome === 'unanswered' || o.outcome === 'rejected') announceStreak(key, await addToStreak(key))
    if (o.errorCode === NO_PERMISSION) {
      opts.evictions.evictLocal(key)
      opts.onEvict?.('error_code_138006')
      await shared?.evictFact(key)
      shared?.publish({ type: 'evict', key })
    } else if (o.errorCode === CALL_LIMIT) {
      await opts.order.store(key, callLimited(cache.peek(key), clock.now()), 'local')
    }
    return streaks.count(key)
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
