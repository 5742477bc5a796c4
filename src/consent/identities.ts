import type { Clock } from '../lib/clock.js'
import { isBsuid } from '../lib/identity.js'
import { E164 } from '../lib/phone.js'
import { sparseLru } from '../lib/sparse-lru.js'
import type { SharedTier } from '../shared/port.js'

/**
 * How long a link between a BSUID and a phone number is kept after the webhook that showed it: Meta shows a
 * username user's number only to a business that messaged or called them in the last 30 days.
 */
export const LINK_MEMORY_MS = 30 * 86_400_000

/** Most BSUIDs kept per phone number: one per business portfolio the gate serves, with room to spare. */
const MAX_BSUIDS_PER_PHONE = 32

/** The part of the Redis tier (REDIS_URL) the links use. */
export type SharedLinks = Pick<SharedTier, 'readLink' | 'writeLink' | 'dropLinks' | 'publish'>

/**
 * Which identities are one user: a BSUID and the phone number a webhook showed with it. A check by either identity
 * sees the same facts (the pair is kept under the phone number), and an event by either reaches both.
 */
export interface IdentityLinks {
  /** The phone number linked to a BSUID in this gate's memory: the hot path asks nothing else. */
  localPhoneOf(bsuid: string): string | undefined
  /** The phone number linked to a BSUID: this gate's memory, then the fleet's; undefined when none is known. */
  phoneOf(bsuid: string): Promise<string | undefined>
  /** Every identity known to be this user's, itself first (a number's BSUIDs, a BSUID's number). */
  sameUser(user: string): Promise<string[]>
  /** The same from this gate's memory alone, synchronously. */
  localSameUser(user: string): string[]
  /**
   * A webhook carried both: the BSUID and the number are one user, here and across the fleet. True when the link
   * is new to this gate: what each identity knew is one user's history only from now on (events.ts).
   */
  link(bsuid: string, phone: string): Promise<boolean>
  /**
   * These identities changed (a number change): every link of theirs is forgotten, here and in Redis. Returns the
   * identities they were linked to; the caller tells the other gates of all of them (the unlink message).
   */
  unlink(identities: readonly string[]): Promise<string[]>
  /** What another gate published. */
  applyRemote(
    message: { type: 'link'; bsuid: string; phone: string } | { type: 'unlink'; identities: string[] },
  ): void
  readonly size: number
}

export function createIdentityLinks(opts: {
  /** Bound on remembered BSUIDs (CACHE_MAX_ENTRIES); the least recently used goes first. */
  maxEntries: number
  clock: Clock
  shared?: SharedLinks
  /**
   * The bound (or the link's age) pushed a BSUID's link out while this gate alone knew it (no Redis to read it
   * back): checks by the BSUID now use its own pairs, which events reaching the number no longer reach.
   */
  onForget?: (bsuid: string) => void
}): IdentityLinks {
  const { clock, shared } = opts
  const options = { ttl: LINK_MEMORY_MS, ttlResolution: 0, perf: clock }
  const onForget = shared ? undefined : opts.onForget
  const phoneOfBsuid = sparseLru<string>(opts.maxEntries, {
    ...options,
    ...(onForget && {
      dispose: (_phone: string, bsuid: string, reason: string) => {
        if (reason === 'evict' || reason === 'expire') onForget(bsuid)
      },
    }),
  })
  const bsuidsOfPhone = sparseLru<string[]>(opts.maxEntries, options)

  function remember(bsuid: string, phone: string): void {
    const previous = phoneOfBsuid.get(bsuid)
    if (previous !== undefined && previous !== phone) forgetOne(bsuid)
    phoneOfBsuid.set(bsuid, phone)
    const known = bsuidsOfPhone.get(phone) ?? []
    // Set again even when known: both directions live as long as the newest reply that showed them.
    bsuidsOfPhone.set(phone, known.includes(bsuid) ? known : [bsuid, ...known].slice(0, MAX_BSUIDS_PER_PHONE))
  }

  /** Forgets one identity's links here; returns what it was linked to. */
  function forgetOne(id: string): string[] {
    if (isBsuid(id)) {
      const phone = phoneOfBsuid.get(id)
      phoneOfBsuid.delete(id)
      if (phone === undefined) return []
      const rest = (bsuidsOfPhone.get(phone) ?? []).filter((b) => b !== id)
      if (rest.length > 0) bsuidsOfPhone.set(phone, rest)
      else bsuidsOfPhone.delete(phone)
      return [phone]
    }
    const bsuids = bsuidsOfPhone.get(id) ?? []
    bsuidsOfPhone.delete(id)
    for (const b of bsuids) if (phoneOfBsuid.get(b) === id) phoneOfBsuid.delete(b)
    return bsuids
  }

  async function phoneOf(bsuid: string): Promise<string | undefined> {
    const local = phoneOfBsuid.get(bsuid)
    if (local !== undefined || !shared) return local
    const read = await shared.readLink(bsuid)
    // Whatever Redis holds is checked like a request: only a normalized number is ever asked about.
    const fleet = read !== undefined && E164.test(read) ? read : undefined
    // Kept here too: the next check of this BSUID resolves on the hot path.
    if (fleet !== undefined) remember(bsuid, fleet)
    return fleet
  }

  function localSameUser(user: string): string[] {
    if (!isBsuid(user)) return [user, ...(bsuidsOfPhone.get(user) ?? [])]
    const phone = phoneOfBsuid.get(user)
    return phone === undefined
      ? [user]
      : [user, phone, ...(bsuidsOfPhone.get(phone) ?? []).filter((b) => b !== user)]
  }

  return {
    localPhoneOf: (bsuid) => phoneOfBsuid.get(bsuid),
    localSameUser,
    phoneOf,
    async sameUser(user) {
      if (isBsuid(user)) {
        const phone = await phoneOf(user)
        return phone === undefined
          ? [user]
          : [user, phone, ...(bsuidsOfPhone.get(phone) ?? []).filter((b) => b !== user)]
      }
      // A number's BSUIDs are only known here once a webhook (or another gate's link message) showed them.
      return [user, ...(bsuidsOfPhone.get(user) ?? [])]
    },
    async link(bsuid, phone) {
      const known = phoneOfBsuid.get(bsuid) === phone
      remember(bsuid, phone)
      if (!shared) return !known
      await shared.writeLink(bsuid, phone, LINK_MEMORY_MS)
      // Only a new link is announced: the gates that hear it merge two histories (events.ts), once.
      if (!known) shared.publish({ type: 'link', bsuid, phone })
      return !known
    },
    async unlink(identities) {
      const found = new Set(identities.flatMap(forgetOne))
      if (shared) {
        for (const id of await shared.dropLinks(identities)) {
          found.add(id)
          // A BSUID Redis knew linked to a changed number, this gate perhaps too: its link goes here as well.
          if (isBsuid(id)) forgetOne(id)
        }
      }
      for (const id of identities) found.delete(id)
      return [...found]
    },
    applyRemote(message) {
      if (message.type === 'link') remember(message.bsuid, message.phone)
      else for (const id of message.identities) forgetOne(id)
    },
    get size() {
      return phoneOfBsuid.size
    },
  }
}
