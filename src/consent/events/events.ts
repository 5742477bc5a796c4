import type { Clock } from '../../lib/clock.js'
import type { DecisionCache } from '../cache.js'
import type { PairFacts } from '../facts.js'
import { createEvictions } from './evictions.js'
import { createFirstSeen, type Shared } from './memory.js'
import { createEventOrder } from './order.js'
import { createApplyOutcome } from './outcomes.js'
import { createApplyReply } from './replies.js'
import { createStreakEvents } from './streak-events.js'
import { createIdentityEvents } from './identity-events.js'
import type { KnownBusinesses } from '../businesses.js'
import type { UnansweredStreaks } from '../streaks.js'
import type { ConsentEvents, EvictionCause } from './types.js'
import type { IdentityLinks } from '../identities.js'
import { isBsuid } from '../../lib/identity.js'

export type * from './types.js'

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
  /** The businesses a user's pairs can be under (identity changes find them by business, never by a scan). */
  businesses: KnownBusinesses
}): ConsentEvents {
  const { cache, streaks, clock, shared } = opts
  const firstSeen = createFirstSeen(opts.maxEntries, clock, shared)
  const order = createEventOrder({ cache, facts: opts.facts, shared })
  const streakEvents = createStreakEvents({ streaks, shared })
  const { syncStreak } = streakEvents
  const evictions = createEvictions({ cache, order, shared })
  const { evictLocal, evictMany } = evictions
  const { identities } = opts

  const identityEvents = createIdentityEvents({
    businesses: opts.businesses,
    cache,
    evictions,
    facts: opts.facts,
    order,
    streaks,
    streakEvents,
    firstSeen,
    identities,
    shared,
    onEvict: opts.onEvict,
  })

  const applyReply = createApplyReply({
    clock,
    firstSeen,
    order,
    streakEvents,
    streaks,
    identities,
    evict: (business, user) => evictions.evict({ business, user }),
    mergeHere: (users, business) => identityEvents.mergeHere(users, business),
    mergeFleet: (keys) => identityEvents.mergeFleet(keys),
    async newerDeny(key) {
      const here = opts.facts.heldDeny(key) ?? cache.peek(key)
      if (here && !here.allowed) return here
      const fleet = await shared?.readDecision(key)
      return fleet && !fleet.decision.allowed ? fleet.decision : undefined
    },
  })
  const applyOutcome = createApplyOutcome({ ...opts, streakEvents, firstSeen, order, evictions })
  const { businesses } = opts

  return {
    applyReply(reply) {
      businesses.note(reply.business)
      return applyReply(reply)
    },
    applyOutcome(outcome) {
      businesses.note(outcome.business)
      return applyOutcome(outcome)
    },
    evict: evictions.evict,
    applyRemote(m) {
      switch (m.type) {
        case 'decision':
          businesses.note(m.key.slice(0, m.key.indexOf('|')))
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
        case 'unlink':
          identityEvents.applyRemote(m)
          break
      }
    },
    syncStreak,
    async identityOf(user) {
      if (!identities || !isBsuid(user)) return user
      return (await identities.phoneOf(user).catch(() => undefined)) ?? user
    },
    forgetIdentities: (change) => identityEvents.forgetIdentities(change),
    forgotLink: (bsuid) => identityEvents.forgotLink(bsuid),
  }
}
