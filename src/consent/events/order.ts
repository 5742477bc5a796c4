import type { DecisionCache } from '../cache.js'
import type { Decision } from '../decide.js'
import type { Shared } from './memory.js'
import type { EventVerdict, FleetVerdict, PairFacts } from '../facts.js'

/** Events put in order against every other fact (docs/consent-ordering.md), here and, in shared mode, in Redis. */
export interface EventOrder {
  /**
   * Applies an event's decision when the facts allow it. Only the gate that received the event (`local`) asks
   * Redis and tells the other gates; a `remote` one was already ordered by the fleet.
   */
  store: (key: string, decision: Decision, origin: 'local' | 'remote') => Promise<EventVerdict>
  /** "Nothing before now grants" for one pair, on this gate. */
  bump: (key: string) => void
  /** The same for every pair (an eviction of a whole business or of everything). */
  bumpAll: () => void
}

export function createEventOrder(opts: {
  cache: DecisionCache
  facts: PairFacts
  shared?: Pick<Shared, 'writeFact' | 'publish'>
}): EventOrder {
  const { cache, facts, shared } = opts

  function apply(key: string, decision: Decision, fleet?: FleetVerdict): EventVerdict {
    const verdict = facts.event(key, decision, fleet)
    if (verdict === 'applied') cache.set(key, decision)
    // An accept that cannot be proven newest evicts the pair: the next check asks Kaleyra.
    else if (verdict === 'untrusted') cache.delete(key)
    return verdict
  }

  async function storeLocal(key: string, decision: Decision): Promise<EventVerdict> {
    if (!shared) return apply(key, decision)
    const ttlMs = cache.ttlFor(decision)
    if (!decision.allowed) {
      // A deny takes effect here at once; the fleet gets it as well, even where Redis holds a newer fact.
      const verdict = apply(key, decision)
      if (verdict === 'applied') {
        // The other gates first: they apply it without reading Redis, which may take retries to reach.
        shared.publish({ type: 'decision', key, decision })
        await shared.writeFact(key, decision, ttlMs, 'event')
      }
      return verdict
    }
    // An accept is ordered here first, then against the fleet's newest fact, and applied only when both agree.
    if (facts.judge(key, decision, 'newest') === 'outdated') return 'outdated'
    const fleet = await shared.writeFact(key, decision, ttlMs, 'event')
    if (fleet === 'outdated') return 'outdated'
    // Redis found it unproven and dropped its decision: this gate drops its own too.
    if (fleet === 'untrusted') {
      cache.delete(key)
      return 'untrusted'
    }
    const verdict = apply(key, decision, fleet === 'stored' ? 'newest' : 'unknown')
    if (verdict === 'applied') shared.publish({ type: 'decision', key, decision })
    return verdict
  }

  return {
    store: (key, decision, origin) =>
      origin === 'local' ? storeLocal(key, decision) : Promise.resolve(apply(key, decision, 'newest')),
    bump: (key) => facts.evict(key),
    bumpAll: () => facts.evictAll(),
  }
}
