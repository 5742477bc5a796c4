import { MAX_BUSINESSES, type SharedTier } from '../shared/port.js'

/** The part of the Redis tier (REDIS_URL) the business list uses. */
export type SharedBusinesses = Pick<SharedTier, 'addBusiness' | 'businesses'>

/**
 * The business numbers this gate (and, in shared mode, the fleet) has checked or received events for: what a
 * user's pairs can be found under without scanning the cache, when their identity changes or two of them link.
 */
export interface KnownBusinesses {
  /** Remembers a business (a Set lookup when known: every miss and event calls it). */
  note(business: string): void
  /** Every business known here and, in shared mode, across the fleet; `complete` false past MAX_BUSINESSES. */
  all(): Promise<{ businesses: string[]; complete: boolean }>
  /** This gate's own list, synchronously (for messages other gates send). */
  local(): { businesses: string[]; complete: boolean }
}

export function createKnownBusinesses(opts: { shared?: SharedBusinesses; max?: number }): KnownBusinesses {
  const max = opts.max ?? MAX_BUSINESSES
  const known = new Set<string>()
  let overflowed = false
  const local = () => ({ businesses: [...known], complete: !overflowed })
  return {
    note(business) {
      if (known.has(business)) return
      if (known.size >= max) {
        overflowed = true
        return
      }
      known.add(business)
      // Once per business and gate: the fleet's list is what a gate that never saw the business scans.
      void opts.shared?.addBusiness(business)
    },
    local,
    async all() {
      const fleet = await opts.shared?.businesses()
      if (!opts.shared) return local()
      // Redis could not say: this gate's list, marked incomplete, so the caller takes the safe floor.
      if (fleet === undefined) return { businesses: [...known], complete: false }
      const all = new Set([...known, ...fleet.businesses])
      return { businesses: [...all], complete: !overflowed && fleet.complete }
    },
  }
}
