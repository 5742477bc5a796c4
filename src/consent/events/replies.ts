import type { Clock } from '../../lib/clock.js'
import { pairKey } from '../cache.js'
import { decide, type Decision } from '../decide.js'
import type { EventOrder } from './order.js'
import type { StreakEvents } from './streak-events.js'
import type { ConsentEvents, ReplyResult } from './types.js'
import type { IdentityLinks } from '../identities.js'
import { isBsuid } from '../../lib/identity.js'
import type { UnansweredStreaks } from '../streaks.js'

/**
 * A permission reply becomes an event decision for the pair, unless it is a redelivery or outdated: for every
 * identity of the user the gate knows (its number and BSUIDs), so a check by any of them sees it. A reply that
 * carries both a number and a BSUID links them first.
 */
export function createApplyReply(opts: {
  clock: Clock
  firstSeen: (id: string) => Promise<boolean>
  order: Pick<EventOrder, 'store'>
  streakEvents: Pick<StreakEvents, 'endStreak'>
  streaks: Pick<UnansweredStreaks, 'lastAtMs'>
  identities?: Pick<IdentityLinks, 'link' | 'sameUser'>
  /** Evicts one pair here, in Redis and on every gate (evictions.ts). */
  evict: (business: string, user: string) => Promise<unknown>
  /** Evicts every pair of these users, for every business, here and in Redis (a new link: events.ts). */
  merge: (users: readonly string[]) => Promise<void>
}): ConsentEvents['applyReply'] {
  const { clock, firstSeen, order, streaks, identities } = opts
  const { endStreak } = opts.streakEvents
  return async function applyReply(r) {
    if (!(await firstSeen(r.id))) return 'duplicate'
    const bsuids = r.bsuids ?? []
    if (identities && !isBsuid(r.user)) {
      // Two identities the gate kept apart become one user: each may hold facts newer than the other's (a reject
      // under the BSUID, an older accept under the number). None of them is known newest for the user, so both
      // histories go, and the next check asks the upstream. Once per link.
      const linked: string[] = []
      for (const b of bsuids) if (await identities.link(b, r.user)) linked.push(b)
      if (linked.length > 0) await opts.merge([r.user, ...linked])
    }
    const users = new Set([r.user, ...bsuids])
    if (identities)
      for (const u of [...users]) for (const same of await identities.sameUser(u)) users.add(same)
    // A reply cannot come from the future; a clock far ahead must not make every later event "outdated".
    const atMs = Math.min(r.timestampMs, clock.now())
    const record = { ...r, canPerformAction: r.response === 'accept' }
    const decision: Decision = { ...decide([record], clock.now()), origin: 'event', checkedAtMs: atMs }
    const verdicts = new Map<string, ReplyResult>()
    for (const user of users) {
      const key = pairKey(r.business, user)
      const verdict = await order.store(key, decision, 'local')
      // A consent given before the unanswered calls says nothing of them: only a newer accept ends the streak.
      if (verdict === 'applied' && r.response === 'accept' && atMs > streaks.lastAtMs(key)) endStreak(key)
      verdicts.set(user, verdict)
    }
    // One user, one newest fact: an accept that some identity already holds a newer fact for (a reject under the
    // BSUID, then this older reply naming both) is newest for none of them. Where it was applied it goes, and the
    // next check asks the upstream.
    const refused = [...verdicts.values()].find((v) => v !== 'applied')
    if (decision.allowed && refused !== undefined) {
      for (const [user, verdict] of verdicts) if (verdict === 'applied') await opts.evict(r.business, user)
      return refused
    }
    // The answer counts the reply once, by the identity it came from.
    return verdicts.get(r.user) ?? 'outdated'
  }
}
