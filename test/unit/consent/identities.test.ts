import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../../src/lib/clock.js'
import { createDecisionCache } from '../../../src/consent/cache.js'
import { createPairFacts } from '../../../src/consent/facts.js'
import { createConsentLookup } from '../../../src/consent/lookup.js'
import { createUnansweredStreaks } from '../../../src/consent/streaks.js'
import { createIdentityLinks, LINK_MEMORY_MS } from '../../../src/consent/identities.js'
import { createKnownBusinesses } from '../../../src/consent/businesses.js'
import { createConsentEvents, type ConsentEvents } from '../../../src/consent/events/events.js'
import type { SharedLinks } from '../../../src/consent/identities.js'

/** The link memory and the business list, below the HTTP layer. */

const T0 = Date.UTC(2026, 10, 27, 12)
const DAY_MS = 86_400_000
const BUSINESS = '+918000000001'
const USER = '+919000000001'
const BSUID = 'IN.13491208655302741918'

describe('the link memory (identities.ts)', () => {
  // A user who keeps replying keeps the link: each reply naming both re-links them. The number's list of BSUIDs is
  // written only when the BSUID is new to it, so its TTL runs from the first link while the BSUID's own entry is
  // renewed by every reply. From 30 days after the first link until the next reply, a number change (which names the old number alone) no longer finds the
  // BSUID, whose link to the old number survives: checks by that BSUID are answered from the number's new owner.
  it('forgets a BSUID linked for over 30 days when its number changes', async () => {
    const clock = createManualClock(T0)
    const links = createIdentityLinks({ maxEntries: 100, clock })
    expect(await links.link(BSUID, USER)).toBe(true)
    for (const day of [10, 20, 29]) {
      clock.set(T0 + day * DAY_MS)
      await links.link(BSUID, USER)
    }
    // Day 31: the user's last reply was two days ago; the number changes.
    clock.set(T0 + 31 * DAY_MS)
    expect(links.localPhoneOf(BSUID)).toBe(USER)
    expect(await links.sameUser(USER), 'the number still knows its BSUID').toEqual([USER, BSUID])
    expect(await links.unlink([USER])).toEqual([BSUID])
    expect(links.localPhoneOf(BSUID)).toBeUndefined()
  })

  it('forgets locally a BSUID that Redis (and not this gate) found linked to a changed number', async () => {
    const clock = createManualClock(T0)
    const shared: SharedLinks = {
      readLink: async () => undefined,
      writeLink: async () => undefined,
      // The fleet's sets are renewed by every link (PEXPIRE in writeLink): Redis still names the BSUID.
      dropLinks: async () => [BSUID],
      publish: () => undefined,
    }
    const links = createIdentityLinks({ maxEntries: 100, clock, shared })
    await links.link(BSUID, USER)
    clock.set(T0 + 29 * DAY_MS)
    await links.link(BSUID, USER)
    clock.set(T0 + 31 * DAY_MS)
    expect(await links.unlink([USER])).toEqual([BSUID])
    // This gate publishes the unlink and does not hear its own message: its memory must forget the link itself.
    expect(links.localPhoneOf(BSUID)).toBeUndefined()
  })

  // Pinned: lru-cache disposes a TTL-expired entry lazily, on the get() that finds it,
  // with reason 'expire'; the gate then evicts the BSUID's own pairs.
  it('tells onForget about a link that expired (lazily, when it is next read)', async () => {
    const clock = createManualClock(T0)
    const forgotten: string[] = []
    const links = createIdentityLinks({ maxEntries: 100, clock, onForget: (b) => forgotten.push(b) })
    await links.link(BSUID, USER)
    clock.advance(LINK_MEMORY_MS + 1)
    expect(forgotten).toEqual([])
    expect(links.localPhoneOf(BSUID)).toBeUndefined()
    expect(forgotten).toEqual([BSUID])
  })
})

describe('the merge when the business list is past its bound (businesses.ts)', () => {
  /** One gate without Redis, wired as gate.ts wires it, with a business list of `max`. */
  function gateCore(max: number | undefined) {
    const clock = createManualClock(T0)
    const negativeTtlMs = 3_600_000
    const cache = createDecisionCache({ maxEntries: 1000, maxTtlMs: 3_600_000, negativeTtlMs, clock })
    const facts = createPairFacts({ clock, maxEntries: 1000, trustWindowMs: 300_000, negativeTtlMs })
    const streaks = createUnansweredStreaks({ limit: 3, maxEntries: 1000, clock })
    // gate.ts wires onForget to the events made below it.
    const wired: { events?: ConsentEvents } = {}
    const identities = createIdentityLinks({
      maxEntries: 1000,
      clock,
      onForget: (b) => wired.events?.forgotLink(b),
    })
    const businesses = createKnownBusinesses(max === undefined ? {} : { max })
    const events = createConsentEvents({
      cache,
      facts,
      streaks,
      clock,
      maxEntries: 1000,
      identities,
      businesses,
    })
    wired.events = events
    const lookup = createConsentLookup({
      cache,
      // The upstream has not heard of the reject: it still holds the user's grant.
      find: async (business, user) => [
        {
          business,
          user,
          response: 'accept',
          isPermanent: true,
          responseSource: 'user_action',
          canPerformAction: true,
          expiresAtMs: null,
        },
      ],
      clock,
      logger: pino({ level: 'silent' }),
      deadlineMs: 1000,
      facts,
      events,
      identities,
      businesses,
      asksBsuid: false,
      streakBlocked: (key) => streaks.blocked(key),
    })
    return { events, lookup }
  }

  for (const max of [2, undefined])
    it(`still denies by number a user whose BSUID holds a reject (business list ${max === undefined ? 'within its bound' : 'full'})`, async () => {
      const { events, lookup } = gateCore(max)
      // The business numbers the gate saw first (a precheck with stray business numbers fills the list).
      await lookup.check('+918000000002', '+919000000099')
      await lookup.check('+918000000003', '+919000000099')
      await events.applyReply({
        id: 'rej',
        business: BUSINESS,
        user: BSUID,
        timestampMs: T0,
        response: 'reject',
        isPermanent: false,
        expiresAtMs: null,
        responseSource: 'user_action',
      })
      expect((await lookup.check(BUSINESS, BSUID)).decision.allowed).toBe(false)
      // An accept from ten minutes before the reject, naming both identities, arrives late.
      await events.applyReply({
        id: 'old',
        business: BUSINESS,
        user: USER,
        bsuids: [BSUID],
        timestampMs: T0 - 600_000,
        response: 'accept',
        isPermanent: true,
        expiresAtMs: null,
        responseSource: 'user_action',
      })
      expect((await lookup.check(BUSINESS, USER)).decision.allowed, 'by number').toBe(false)
      expect((await lookup.check(BUSINESS, BSUID)).decision.allowed, 'by BSUID').toBe(false)
    })
})
