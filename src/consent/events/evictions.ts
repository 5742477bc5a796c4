import { pairKey, type DecisionCache } from '../cache.js'
import type { Shared } from './memory.js'
import type { EventOrder } from './order.js'
import type { ConsentEvents } from './types.js'

export interface Evictions {
  /** Forgets one pair on this gate; true when it was cached. */
  evictLocal: (key: string) => boolean
  /** Forgets a whole business, or everything, on this gate; returns the evictions. */
  evictMany: (business?: string) => number
  /**
   * Forgets every pair of these users under these businesses on this gate, cached or not (a pair with no cached
   * answer may still hold a fact); returns how many cached answers went.
   */
  evictUsers: (users: readonly string[], businesses: readonly string[]) => number
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

  function evictUsers(users: readonly string[], businesses: readonly string[]): number {
    let n = 0
    for (const business of businesses)
      for (const user of users) n += Number(evictLocal(pairKey(business, user)))
    return n
  }

  return {
    evictLocal,
    evictMany,
    evictUsers,
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
