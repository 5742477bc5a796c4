import { pairKey } from '../cache.js'
import type { KnownBusinesses } from '../businesses.js'
import type { PairFacts } from '../facts.js'
import type { IdentityLinks } from '../identities.js'
import type { UnansweredStreaks } from '../streaks.js'
import type { Evictions } from './evictions.js'
import { EVENT_MEMORY_MS, type Shared } from './memory.js'
import type { EventOrder } from './order.js'
import type { StreakEvents } from './streak-events.js'
import type { ConsentEvents, EvictionCause } from './types.js'

/** Identities one number change may name: its own few, and the BSUIDs linked to them. */
const MAX_UNLINKED = 64

export interface IdentityEvents {
  /** A new link: two identities' histories become one user's (replies.ts). */
  merge(users: readonly string[]): Promise<void>
  forgetIdentities: ConsentEvents['forgetIdentities']
  /** Another gate linked or unlinked identities: this gate's pairs of them go too. */
  applyRemote(
    message: { type: 'link'; bsuid: string; phone: string } | { type: 'unlink'; identities: string[] },
  ): void
  /** This gate's link memory dropped a BSUID's link (its bound): what is cached under the BSUID may be outdated. */
  forgotLink(bsuid: string): void
}

/**
 * What identity changes do to the pairs of the identities involved, for every business the gate (or the fleet)
 * knows: found by business, never by scanning the cache. Each is an eviction: "nothing before now grants".
 */
export function createIdentityEvents(opts: {
  businesses: KnownBusinesses
  evictions: Pick<Evictions, 'evictUsers' | 'evictMany'>
  facts: Pick<PairFacts, 'heldDeny' | 'holds'>
  order: Pick<EventOrder, 'store'>
  streaks: Pick<UnansweredStreaks, 'count'>
  streakEvents: Pick<StreakEvents, 'announceStreak'>
  firstSeen: (id: string) => Promise<boolean>
  identities?: IdentityLinks
  shared?: Pick<Shared, 'evictFact' | 'deleteDecisions' | 'setStreak' | 'publish'>
  onEvict?: (cause: EvictionCause) => void
}): IdentityEvents {
  const { businesses, evictions, facts, order, streaks, streakEvents, identities, shared, firstSeen } = opts

  /** Every pair of these users evicted on this gate alone. */
  function evictHere(users: readonly string[]): void {
    const known = businesses.local()
    if (known.complete) evictions.evictUsers(users, known.businesses)
    else evictions.evictMany()
  }

  /** Every pair of these users evicted here and in Redis; other gates evict theirs on the message that follows. */
  async function drop(users: readonly string[], cause: EvictionCause): Promise<string[]> {
    const known = await businesses.all()
    if (!known.complete) {
      // Past the bound the gate cannot name every business: a floor for every pair, the safe side.
      evictions.evictMany()
      await shared?.deleteDecisions({})
      return known.businesses
    }
    const evicted = evictions.evictUsers(users, known.businesses)
    for (let i = 0; i < evicted; i++) opts.onEvict?.(cause)
    const keys = known.businesses.flatMap((b) => users.map((u) => pairKey(b, u)))
    if (shared) await Promise.all(keys.map((key) => shared.evictFact(key)))
    return known.businesses
  }

  return {
    async merge(users) {
      // What must survive the merge, per business: the newest held reject (it holds against any upstream grant
      // for the deny TTL) and the longest unanswered streak. Everything else of both histories goes.
      const { businesses: list } = await businesses.all()
      const kept = list.map((business) => {
        const keys = users.map((u) => pairKey(business, u))
        const denies = keys.flatMap((k) => facts.heldDeny(k) ?? [])
        const deny = denies.reduce<(typeof denies)[number] | undefined>(
          (a, d) => (a === undefined || d.checkedAtMs > a.checkedAtMs ? d : a),
          undefined,
        )
        return { keys, deny, streak: Math.max(0, ...keys.map((k) => streaks.count(k))) }
      })
      // Nothing to merge where no identity holds a fact: the reply that linked them is their first.
      if (!kept.some(({ keys }) => keys.some((k) => facts.holds(k)))) return
      await drop(users, 'identity_linked')
      for (const { keys, deny, streak } of kept) {
        for (const key of keys) {
          if (deny) await order.store(key, deny, 'local')
          if (streak > streaks.count(key)) {
            shared?.setStreak(key, streak, EVENT_MEMORY_MS)
            streakEvents.announceStreak(key, streak)
          }
        }
      }
    },
    async forgetIdentities(change) {
      businesses.note(change.business)
      if (!(await firstSeen(change.id))) return false
      const linked = (await identities?.unlink(change.identities)) ?? []
      const users = [...new Set([...change.identities, ...linked])].slice(0, MAX_UNLINKED)
      await drop(users, 'identity_changed')
      shared?.publish({ type: 'unlink', identities: users })
      return true
    },
    applyRemote(m) {
      identities?.applyRemote(m)
      evictHere(m.type === 'link' ? [m.bsuid, m.phone] : m.identities)
    },
    // Events that reached the number after the link went never reached the BSUID's own pairs.
    forgotLink: (bsuid) => evictHere([bsuid]),
  }
}
