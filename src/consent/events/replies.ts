import type { Clock } from '../../lib/clock.js'
import { pairKey } from '../cache.js'
import { decide, type Decision } from '../decide.js'
import type { EventOrder } from './order.js'
import type { StreakEvents } from './streak-events.js'
import type { ConsentEvents } from './types.js'
import type { UnansweredStreaks } from '../streaks.js'

/** A permission reply becomes an event decision for the pair, unless it is a redelivery or outdated. */
export function createApplyReply(opts: {
  clock: Clock
  firstSeen: (id: string) => Promise<boolean>
  order: Pick<EventOrder, 'store'>
  streakEvents: Pick<StreakEvents, 'endStreak'>
  streaks: Pick<UnansweredStreaks, 'lastAtMs'>
}): ConsentEvents['applyReply'] {
  const { clock, firstSeen, order, streaks } = opts
  const { endStreak } = opts.streakEvents
  return async function applyReply(r) {
    if (!(await firstSeen(r.id))) return 'duplicate'
    const key = pairKey(r.business, r.user)
    // A reply cannot come from the future; a clock far ahead must not make every later event "outdated".
    const atMs = Math.min(r.timestampMs, clock.now())
    const record = { ...r, canPerformAction: r.response === 'accept' }
    const decision: Decision = { ...decide([record], clock.now()), origin: 'event', checkedAtMs: atMs }
    const verdict = await order.store(key, decision, 'local')
    // A consent given before the unanswered calls says nothing of them: only a newer accept ends the streak.
    if (verdict === 'applied' && r.response === 'accept' && atMs > streaks.lastAtMs(key)) endStreak(key)
    return verdict
  }
}
