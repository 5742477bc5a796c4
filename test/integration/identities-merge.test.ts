import { describe, expect, it } from 'vitest'
import { BUSINESS, T0, grant, useGates, type Harness } from '../helpers/gate.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, linkingReply, numberChangeMessage, post, replyMessage } from '../helpers/webhooks.js'

/**
 * One gate (no Redis): the merge on a new link, under the gate's bounds.
 * Each test states the rule it holds the gate to; a "(control)" shows the same story passing where the bound or the
 * race is absent.
 */

const USER = '+919000000001'
const BSUID = 'IN.13491208655302741918'
const BEARER = 'kaleyra-callback-token-0123'
const auth = { authorization: `Bearer ${BEARER}` }
/** Older than EVENT_TRUST_WINDOW_SECONDS (300 s): an accept the gate grants on only when it can prove it newest. */
const LATE = T0 - 10 * 60_000
const other = (i: number) => `+9190000010${String(i).padStart(2, '0')}`

const gates = useGates()
const deliver = (h: Harness, messages: unknown[], business = BUSINESS) =>
  post(`${h.url}/webhooks/kaleyra`, kaleyraBody(business, messages), auth)

/** Ordinary traffic: checks of other users, each a row in the fact memory (CACHE_MAX_ENTRIES). */
async function traffic(h: Harness, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect((await h.canCall(other(i))).status).toBe(200)
}

describe('the merge on a new link, when the fact memory has forgotten the pairs (CACHE_MAX_ENTRIES)', () => {
  // The reject and the blocked streak are each kept in a memory of their own so that pressure on the fact memory
  // cannot drop them early (facts.ts recentDenies, streaks.ts blocked pairs). The merge decides whether there is
  // anything to merge by the fact memory alone (facts.holds), so that pressure drops them from the user all the same.
  for (const churn of [true, false])
    it(`${churn ? '' : '(control) '}still denies by number a user whose BSUID holds a reject${churn ? ' after other traffic' : ''}`, async () => {
      const h = await gates.start({
        consents: [grant(USER, { is_permanent: true, expiresAt: null })],
        env: { WEBHOOK_BEARER_TOKEN: BEARER, CACHE_NEGATIVE_TTL_SECONDS: '3600', CACHE_MAX_ENTRIES: '4' },
      })
      await deliver(h, [
        replyMessage({ id: 'rej', user: USER, noFrom: true, bsuid: BSUID, at: T0, response: 'reject' }),
      ])
      expect((await h.canCall(BSUID)).body).toMatchObject({ allowed: false, reason: 'consent_rejected' })
      if (churn) await traffic(h, 4)
      // An accept from before the reject, naming both identities, arrives late and links them.
      await deliver(h, [linkingReply('old', LATE)])
      expect((await h.canCall(USER)).body, 'by number').toMatchObject({ allowed: false })
      expect((await h.canCall(BSUID)).body, 'by BSUID').toMatchObject({ allowed: false })
    })

  for (const churn of [true, false])
    it(`${churn ? '' : '(control) '}still blocks by number a user whose BSUID went unanswered${churn ? ' after other traffic' : ''}`, async () => {
      const h = await gates.start({
        upstream: 'meta',
        consents: [
          grant(USER, { is_permanent: true, expiresAt: null }),
          grant(BSUID, { is_permanent: true, expiresAt: null }),
        ],
        env: { WEBHOOK_BEARER_TOKEN: BEARER, UNANSWERED_STREAK_LIMIT: '2', CACHE_MAX_ENTRIES: '4' },
      })
      expect((await h.canCall(BSUID)).body.allowed).toBe(true)
      h.clock.advance(1000)
      for (let i = 0; i < 2; i++)
        await post(`${h.url}/call-outcomes`, { business: BUSINESS, user: BSUID, outcome: 'unanswered' })
      expect((await h.canCall(BSUID)).body).toMatchObject({ reason: 'unanswered_streak' })
      if (churn) await traffic(h, 4)
      await deliver(h, [linkingReply('old', LATE)])
      expect((await h.canCall(USER)).body, 'by number').toMatchObject({ allowed: false })
      expect((await h.canCall(BSUID)).body, 'by BSUID').toMatchObject({ allowed: false })
    })
})

describe('a merge while a lookup of another user is asking the upstream', () => {
  // The merge records an eviction for every (known business) x (identity of the new link), pairs that never held
  // anything included: with 40 businesses, 82 rows in one webhook. A fact memory of CACHE_MAX_ENTRIES rows then
  // forgets the reject that arrived while USER's lookup was in flight, and the lookup, no longer overtaken, stores
  // the upstream's older grant over the reject. (With CACHE_NEGATIVE_TTL_SECONDS > 0 the held reject covers this one
  // case; every other fact the merge flushes, evictions included, is lost the same way, and completeSince moves.)
  for (const linkMeanwhile of [true, false])
    it(`${linkMeanwhile ? '' : '(control) '}never lets the lookup's older grant replace a reject that overtook it`, async () => {
      const h = await gates.start({
        consents: [grant(USER, { is_permanent: true, expiresAt: null })],
        env: {
          WEBHOOK_BEARER_TOKEN: BEARER,
          CACHE_MAX_ENTRIES: '64',
          // No held reject (recentDenies): the fact memory alone orders the answer against the reject.
          CACHE_NEGATIVE_TTL_SECONDS: '0',
          UPSTREAM_TIMEOUT_MS: '3000',
          CHECK_DEADLINE_MS: '6000',
        },
      })
      // The businesses this gate serves (a contact centre's numbers), each checked once.
      const businesses = Array.from({ length: 40 }, (_, i) => `+9180000020${String(i).padStart(2, '0')}`)
      for (const b of businesses) expect((await h.canCall(other(0), '', b)).status).toBe(200)
      // Another user with a fact of their own, about to be linked to their BSUID.
      const user2 = '+919000000002'
      const bsuid2 = 'IN.22222222222222222222'
      await deliver(h, [replyMessage({ id: 'u2', user: user2, at: T0, response: 'accept' })])

      const hold = h.sim.hold()
      const pending = h.canCall(USER)
      await waitFor(() => hold.requests.length === 1, 5000)
      // The user rejects while the upstream (which has not heard of it yet) is being asked.
      expect(
        (await deliver(h, [replyMessage({ id: 'rej', user: USER, at: T0, response: 'reject' })])).body,
      ).toMatchObject({ applied: 1 })
      if (linkMeanwhile) await deliver(h, [linkingReply('link2', T0, user2, bsuid2)])
      hold.release()
      const first = await pending
      // The reject is newer than the question the upstream answered: the overtaken lookup must not allow.
      expect(first.body).toMatchObject({ allowed: false, reason: 'consent_rejected' })
    })
})

describe('a streak carried by the merge', () => {
  // Only an accept newer than the unanswered calls ends a streak (streaks.ts lastAtMs). The merge carries the
  // BSUID's streak to the number with the time of its last call, so the accept that links them, given after the
  // calls, still ends it (even though the merge leaves that accept nothing to grant on).
  it('is ended by a fresh accept given after the unanswered calls', async () => {
    const h = await gates.start({
      upstream: 'meta',
      consents: [
        grant(USER, { is_permanent: true, expiresAt: null }),
        grant(BSUID, { is_permanent: true, expiresAt: null }),
      ],
      env: { WEBHOOK_BEARER_TOKEN: BEARER, UNANSWERED_STREAK_LIMIT: '2' },
    })
    expect((await h.canCall(BSUID)).body.allowed).toBe(true)
    h.clock.advance(1000)
    for (let i = 0; i < 2; i++)
      await post(`${h.url}/call-outcomes`, { business: BUSINESS, user: BSUID, outcome: 'unanswered' })
    expect((await h.canCall(BSUID)).body).toMatchObject({ reason: 'unanswered_streak' })
    // Five seconds later the user grants again, from a delivery that shows both identities.
    h.clock.advance(5000)
    await deliver(h, [linkingReply('fresh', T0 + 6000)])
    expect((await h.canCall(BSUID)).body, 'by BSUID').toMatchObject({ allowed: true })
  })

  it('(control) is ended by the same fresh accept when it names the BSUID alone', async () => {
    const h = await gates.start({
      upstream: 'meta',
      consents: [grant(BSUID, { is_permanent: true, expiresAt: null })],
      env: { WEBHOOK_BEARER_TOKEN: BEARER, UNANSWERED_STREAK_LIMIT: '2' },
    })
    expect((await h.canCall(BSUID)).body.allowed).toBe(true)
    h.clock.advance(1000)
    for (let i = 0; i < 2; i++)
      await post(`${h.url}/call-outcomes`, { business: BUSINESS, user: BSUID, outcome: 'unanswered' })
    h.clock.advance(5000)
    await deliver(h, [
      replyMessage({
        id: 'fresh',
        user: USER,
        noFrom: true,
        bsuid: BSUID,
        at: T0 + 6000,
        response: 'accept',
        permanent: true,
      }),
    ])
    expect((await h.canCall(BSUID)).body).toMatchObject({ allowed: true })
  })
})

describe('a number change 30 days after the first link', () => {
  // The number's list of BSUIDs is written once per link and never renewed (identities.ts remember), while the
  // BSUID's own link is renewed by each reply: past 30 days the number change (naming the old number alone, as
  // numberChangeMessage does) no longer finds the BSUID, and the BSUID stays linked to a number now someone else's.
  for (const { replies, changeDay } of [
    { replies: [0, 10, 20, 29], changeDay: 31 },
    { replies: [0], changeDay: 5 },
  ])
    it(`${changeDay < 30 ? '(control, day 5) ' : ''}never answers a check by the old BSUID from the number's new owner`, async () => {
      const h = await gates.start({ consents: [], env: { WEBHOOK_BEARER_TOKEN: BEARER } })
      const DAY = 86_400_000
      for (const day of replies) {
        h.clock.set(T0 + day * DAY)
        await deliver(h, [linkingReply(`both-${day}`, T0 + day * DAY)])
      }
      h.clock.set(T0 + changeDay * DAY)
      const change = await deliver(h, [
        numberChangeMessage({ id: 'chg', oldUser: USER, newUser: '+919000000077', at: T0 + changeDay * DAY }),
      ])
      expect(change.body).toMatchObject({ identity_changes: 1 })
      // The number's new owner grants the business, by number.
      h.clock.advance(1000)
      await deliver(h, [
        replyMessage({
          id: 'new-owner',
          user: USER,
          at: T0 + changeDay * DAY + 1000,
          response: 'accept',
          permanent: true,
        }),
      ])
      expect((await h.canCall(USER)).body.allowed, 'the new owner, by number').toBe(true)
      expect((await h.canCall(BSUID)).body, 'the old BSUID').toMatchObject({ allowed: false })
    })
})
