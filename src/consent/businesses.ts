/**
 * Most business numbers remembered. A contact centre dials from a handful; past this bound the gate no longer knows
 * every business a user may have pairs under, and an identity change reaches only the pairs of those it knows (and
 * the change's own business): docs/identities.md, known limits.
 */
export const MAX_BUSINESSES = 10_000

/**
 * The business numbers this gate has checked or received events for: what a user's pairs can be found under,
 * without scanning the cache, when their identity changes or two of them link. Each gate keeps its own: what a gate
 * holds of a pair is under a business it noted, and the other gates act on their own on the link and unlink
 * messages.
 */
export interface KnownBusinesses {
  /** Remembers a business (a Set lookup when known: every miss and event calls it). */
  note(business: string): void
  /** Every business noted, up to MAX_BUSINESSES. */
  list(): string[]
}

export function createKnownBusinesses(opts: { max?: number } = {}): KnownBusinesses {
  const max = opts.max ?? MAX_BUSINESSES
  const known = new Set<string>()
  return {
    note(business) {
      if (known.size < max) known.add(business)
    },
    list: () => [...known],
  }
}
