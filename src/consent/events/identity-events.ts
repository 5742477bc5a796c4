import { pairKey } from '../cache.js'
import type { KnownBusinesses } from '../businesses.js'
import type { DecisionCache } from '../cache.js'
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
  /**
   * A reply is about to link these identities (the number first): merges what this gate holds of them, at once and
   * before the link is known anywhere, so no check can resolve the BSUID to the number's older answer meanwhile.
   * Returns the pairs the merge touched, for mergeFleet.
   */
  mergeHere(users: readonly string[], business: string): string[]
  /** The same merge in Redis and on every other gate (the link message), after the link is written. */
  mergeFleet(keys: readonly string[]): Promise<void>
  forgetIdentities: ConsentEvents['forgetIdentities']
  /** Another gate linked or unlinked identities: this gate merges, or drops, its own pairs of them. */
  applyRemote(
    message: { type: 'link'; bsuid: string; phone: string } | { type: 'unlink'; identities: string[] },
  ): void
  /** This gate's link memory dropped a BSUID's link (its bound): what is cached under the BSUID may be outdated. */
  forgotLink(bsuid: string): void
}

/**
 * What identity changes do to the pairs of the identities involved, for every business the gate knows: found by
 * business, never by scanning the cache. A merge or a drop is an eviction of each pair that holds anything:
 * "nothing before now grants". A merge keeps, per business, the newest reject still held against upstream grants
 * and the longest unanswered streak, and applies them to every identity before anything else can be asked.
 */
export function createIdentityEvents(opts: {
  businesses: KnownBusinesses
  evictions: Pick<Evictions, 'evictLocal'>
  facts: Pick<PairFacts, 'heldDeny' | 'holds'>
  cache: Pick<DecisionCache, 'peek'>
  order: Pick<EventOrder, 'store'>
  streaks: Pick<UnansweredStreaks, 'count' | 'set' | 'lastAtMs'>
  streakEvents: Pick<StreakEvents, 'announceStreak'>
  firstSeen: (id: string) => Promise<boolean>
  identities?: IdentityLinks
  shared?: Pick<Shared, 'evictFact' | 'setStreak' | 'publish'>
  onEvict?: (cause: EvictionCause) => void
}): IdentityEvents {
  const { businesses, evictions, facts, cache, order, streaks, streakEvents, identities, shared, firstSeen } =
    opts

  /** Whether this gate holds anything of the pair: a cached answer, a fact, a held reject, a streak. */
  const holds = (key: string) =>
    cache.peek(key) !== undefined ||
    facts.holds(key) ||
    facts.heldDeny(key) !== undefined ||
    streaks.count(key) > 0

  /** The pairs of these users this gate holds anything of, under every business it knows (and `also`). */
  function heldPairs(users: readonly string[], also?: string): { business: string; keys: string[] }[] {
    const list = businesses.list()
    return (also === undefined || list.includes(also) ? list : [...list, also])
      .map((business) => ({ business, keys: users.map((u) => pairKey(business, u)) }))
      .filter(({ keys }) => keys.some(holds))
  }

  /** Evicts the pairs of these users this gate holds, here only; returns them. */
  function dropHere(users: readonly string[], cause?: EvictionCause): string[] {
    const keys = heldPairs(users).flatMap((g) => g.keys)
    for (const key of keys) if (evictions.evictLocal(key) && cause) opts.onEvict?.(cause)
    return keys
  }

  function mergeHere(users: readonly string[], business?: string, cause?: EvictionCause): string[] {
    const groups = heldPairs(users, business).map(({ keys }) => {
      const denies = keys.flatMap((k) => facts.heldDeny(k) ?? [])
      const deny = denies.reduce<(typeof denies)[number] | undefined>(
        (a, d) => (a === undefined || d.checkedAtMs > a.checkedAtMs ? d : a),
        undefined,
      )
      // The longest streak, with the time of its last call: an accept after those calls still ends it.
      const longest = keys.reduce((a, k) => (streaks.count(k) > streaks.count(a) ? k : a))
      return { keys, deny, streak: streaks.count(longest), streakAtMs: streaks.lastAtMs(longest) }
    })
    for (const { keys, deny, streak, streakAtMs } of groups) {
      for (const key of keys) if (evictions.evictLocal(key) && cause) opts.onEvict?.(cause)
      // Synchronously, before anything else runs: the 'remote' order applies here without asking Redis.
      for (const key of keys) {
        if (deny) void order.store(key, deny, 'remote')
        if (streak > streaks.count(key)) streaks.set(key, streak, streakAtMs)
      }
    }
    return groups.flatMap((g) => g.keys)
  }

  async function mergeFleet(keys: readonly string[]): Promise<void> {
    if (!shared) return
    // Redis learns the evictions, then the kept reject and streak, as events of this gate (stored and published).
    await Promise.all(keys.map((key) => shared.evictFact(key)))
    for (const key of keys) {
      const deny = facts.heldDeny(key)
      if (deny) await order.store(key, deny, 'local')
      const streak = streaks.count(key)
      if (streak > 0) {
        shared.setStreak(key, streak, EVENT_MEMORY_MS)
        streakEvents.announceStreak(key, streak)
      }
    }
  }

  return {
    mergeHere: (users, business) => mergeHere(users, business, 'identity_linked'),
    mergeFleet,
    async forgetIdentities(change) {
      businesses.note(change.business)
      if (!(await firstSeen(change.id))) return false
      const linked = (await identities?.unlink(change.identities)) ?? []
      const users = [...new Set([...change.identities, ...linked])].slice(0, MAX_UNLINKED)
      // The change's own business always: a late reply from the old owner dated before it must never grant there.
      const keys = new Set([
        ...dropHere(users, 'identity_changed'),
        ...users.map((u) => pairKey(change.business, u)),
      ])
      for (const key of keys) evictions.evictLocal(key)
      if (shared) await Promise.all([...keys].map((key) => shared.evictFact(key)))
      shared?.publish({ type: 'unlink', identities: users })
      return true
    },
    applyRemote(m) {
      if (m.type === 'link') {
        // The gate that linked them merged what it held; this one merges what it holds, and tells the fleet.
        const keys = identities?.localPhoneOf(m.bsuid) === m.phone ? [] : mergeHere([m.phone, m.bsuid])
        identities?.applyRemote(m)
        if (keys.length > 0) void mergeFleet(keys)
        return
      }
      identities?.applyRemote(m)
      dropHere(m.identities)
    },
    // Events that reached the number after the link went never reached the BSUID's own pairs.
    forgotLink: (bsuid) => void dropHere([bsuid]),
  }
}
