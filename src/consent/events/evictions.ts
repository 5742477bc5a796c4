import { pairKey, type DecisionCache } from '../cache.js'
import type { Shared } from './memory.js'
import type { EventOrder } from './order.js'
import type { ConsentEvents } from './types.js'

export interface Evictions {
  /** Forgets one pair on this gate; true when it was cached. */
  evictLocal: (key: string) => boolean
  /** Forgets a whole business, or everything, on this gate; returns the evictions. */
  evictMany: (business?: string) => number
  evict: ConsentEvents['evict']
}

/**
 * An eviction is a fact: "nothing before now grants" for the pair (or every pair), so neither a lookup already
 * asking Kaleyra nor a late accept can bring back a grant from before it.
 */
export function createEvictions(opts: {
  cache: DecisionCache
  order: Pick<EventOrder, 'bump' | 'bumpAll'>
  shared?: Pick<Shared, 'evictFact' | 'deleteDecisions' | 'publish'>
}): Evictions {
  const { cache, order, shared } = opts

  function evictMany(business?: string): number {
    order.bumpAll()
    return business ? cache.deleteBusiness(business) : cache.clear()
  }

  function evictLocal(key: string): boolean {
    order.bump(key)
    return cache.delete(key)
  }

  return {
    evictLocal,
    evictMany,
    async evict({ business, user }) {
      const key = business !== undefined && user !== undefined ? pairKey(business, user) : undefined
      const n = key ? Number(evictLocal(key)) : evictMany(business)
      if (key) await shared?.evictFact(key)
      else await shared?.deleteDecisions({ business })
      shared?.publish(
        key
          ? { type: 'evict', key }
          : business
            ? { type: 'evict_business', business }
            : { type: 'evict_all' },
      )
      return n
    },
  }
}
