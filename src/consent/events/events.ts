import type { Clock } from '../../lib/clock.js'
import type { DecisionCache } from '../cache.js'
import type { PairFacts } from '../facts.js'
import { createEvictions } from './evictions.js'
import { createFirstSeen, type Shared } from './memory.js'
import { createEventOrder } from './order.js'
import { createApplyOutcome } from './outcomes.js'
import { createApplyReply } from './replies.js'
import { createStreakEvents } from './streak-events.js'
import type { UnansweredStreaks } from '../streaks.js'
import type { ConsentEvents, EvictionCause } from './types.js'
import type { IdentityLinks } from '../identities.js'
import { isBsuid } from '../../lib/identity.js'

export type * from './types.js'

/** Identities one number change may name: its own few, and the BSUIDs linked to them. */
const MAX_UNLINKED = 64

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
  /** Which BSUIDs are which numbers: replies reach every identity of a user, number changes drop them. */
  identities?: IdentityLinks
}): ConsentEvents {
  const { cache, streaks, clock, shared } = opts
  const firstSeen = createFirstSeen(opts.maxEntries, clock, shared)
  const order = createEventOrder({ cache, facts: opts.facts, shared })
  const streakEvents = createStreakEvents({ streaks, shared })
  const { syncStreak } = streakEvents
  const evictions = createEvictions({ cache, facts: opts.facts, order, shared })
  const { evictLocal, evictMany, evictUsers } = evictions
  const { identities } = opts

  /**
   * Every pair of these users, evicted here and in Redis; the other gates evict theirs on the message that goes
   * with it (unlink or link).
   */
  async function dropUsers(users: readonly string[], cause: EvictionCause): Promise<void> {
    const keys = evictUsers(users)
    keys.forEach(() => opts.onEvict?.(cause))
    if (!shared) return
    // Pairs other gates cached and this one never saw are in Redis too: each gets an eviction fact.
    const fleet = await Promise.all(users.map((user) => shared.pairsOfUser(user)))
    await Promise.all([...new Set([...keys, ...fleet.flat()])].map((key) => shared.evictFact(key)))
  }

  return {
    applyReply: createApplyReply({
      clock,
      firstSeen,
      order,
      streakEvents,
      streaks,
      identities,
      evict: (business, user) => evictions.evict({ business, user }),
      merge: (users) => dropUsers(users, 'identity_linked'),
    }),
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
        case 'link':
          identities?.applyRemote(m)
          evictUsers([m.bsuid, m.phone])
          break
        case 'unlink':
          identities?.applyRemote(m)
          evictUsers(m.identities)
          break
      }
    },
    syncStreak,
    async identityOf(user) {
      if (!identities || !isBsuid(user)) return user
      return (await identities.phoneOf(user).catch(() => undefined)) ?? user
    },
    async forgetIdentities(change) {
      if (!(await firstSeen(change.id))) return false
      const linked = (await identities?.unlink(change.identities)) ?? []
      const users = [...new Set([...change.identities, ...linked])].slice(0, MAX_UNLINKED)
      await dropUsers(users, 'identity_changed')
      shared?.publish({ type: 'unlink', identities: users })
      return true
    },
  }
}
