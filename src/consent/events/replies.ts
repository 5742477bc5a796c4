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
  identities?: Pick<IdentityLinks, 'link' | 'sameUser' | 'phoneOf' | 'localSameUser'>
  /** Evicts one pair here, in Redis and on every gate (evictions.ts). */
  evict: (business: string, user: string) => Promise<unknown>
  /** A new link: merges what this gate holds of these users, at once (identity-events.ts); returns the pairs. */
  mergeHere: (users: readonly string[], business: string) => string[]
  /** The same merge in Redis and on the other gates. */
  mergeFleet: (keys: readonly string[]) => Promise<void>
  /** The reject that refused an accept for the pair: held or cached here, else the decision Redis holds. */
  newerDeny: (key: string) => Promise<Decision | undefined>
}): ConsentEvents['applyReply'] {
  const { clock, firstSeen, order, streaks, identities } = opts
  const { endStreak } = opts.streakEvents
  return async function applyReply(r) {
    if (!(await firstSeen(r.id))) return 'duplicate'
    const bsuids = r.bsuids ?? []
    if (identities && !isBsuid(r.user)) {
      // Two identities the gate kept apart become one user: each may hold facts newer than the other's (a reject
      // under the BSUID, an older accept under the number). None of them is known newest for the user, so both
      // histories are merged (identity-events.ts), before the link is known here: no check may resolve the BSUID
      // to the number's older answer meanwhile. Once per link: one the fleet already holds was merged then.
      const fresh: string[] = []
      for (const b of bsuids) if ((await identities.phoneOf(b)) !== r.user) fresh.push(b)
      const merged = fresh.length > 0 ? opts.mergeHere([r.user, ...fresh], r.business) : []
      for (const b of bsuids) await identities.link(b, r.user)
      if (merged.length > 0) await opts.mergeFleet(merged)
    }
    const users = new Set([r.user, ...bsuids])
    if (identities)
      for (const u of [...users]) for (const same of await identities.sameUser(u)) users.add(same)
    // A reply cannot come from the future; a clock far ahead must not make every later event "outdated".
    const atMs = Math.min(r.timestampMs, clock.now())
    const record = { ...r, canPerformAction: r.response === 'accept' }
    const decision: Decision = { ...decide([record], clock.now()), origin: 'event', checkedAtMs: atMs }
    const verdicts = new Map<string, ReplyResult>()
    // Until every identity known now has it: a link made by another reply while this one was stored (each store
    // may wait on Redis) adds the identity it linked, so a reject by the BSUID alone still reaches the number.
    for (let pending = [...users]; pending.length > 0;) {
      for (const user of pending) {
        const key = pairKey(r.business, user)
        const verdict = await order.store(key, decision, 'local')
        // A consent given before the unanswered calls says nothing of them: only a newer accept ends the streak. It
        // does so even when it grants nothing (outdated by a merge's eviction, say): a reject newer than it still
        // denies on its own, and the user did consent after those calls.
        if (r.response === 'accept' && atMs > streaks.lastAtMs(key)) endStreak(key)
        verdicts.set(user, verdict)
      }
      pending = identities
        ? [...verdicts.keys()].flatMap((u) => identities.localSameUser(u)).filter((u) => !verdicts.has(u))
        : []
    }
    // One user, one newest fact: an accept that some identity already holds a newer fact for (a reject under the
    // BSUID, then this older reply naming both) is newest for none of them. Where it was applied it goes; where that
    // newer fact is a reject (here, or only in Redis), every identity gets it, so no check by any of them asks the
    // upstream past it.
    const refused = [...verdicts.values()].find((v) => v !== 'applied')
    if (decision.allowed && refused !== undefined) {
      for (const [user, verdict] of verdicts) if (verdict === 'applied') await opts.evict(r.business, user)
      const denies: Decision[] = []
      for (const [user, verdict] of verdicts) {
        if (verdict === 'applied') continue
        const deny = await opts.newerDeny(pairKey(r.business, user))
        if (deny) denies.push(deny)
      }
      const deny = denies.reduce<Decision | undefined>(
        (a, d) => (a === undefined || d.checkedAtMs > a.checkedAtMs ? d : a),
        undefined,
      )
      if (deny)
        for (const user of verdicts.keys()) await order.store(pairKey(r.business, user), deny, 'local')
      return refused
    }
    // The answer counts the reply once, by the identity it came from.
    return verdicts.get(r.user) ?? 'outdated'
  }
}
