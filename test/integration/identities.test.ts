import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { BUSINESS, T0, grant, reject, useGates, type Harness } from '../helpers/gate.js'
import { kaleyraBody, numberChangeMessage, post, replyMessage, linkingReply } from '../helpers/webhooks.js'

/** Users known by a BSUID with Kaleyra as the upstream (phone numbers only): webhooks, links, number changes. */

const USER = '+919000000001'
const NEW_NUMBER = '+919000000077'
const BSUID = 'IN.13491208655302741918'
const PARENT = 'IN.ENT.99887766554433'
const OTHER_BUSINESS = '+918000000002'
const BEARER = 'kaleyra-callback-token-0123'
const ENV = { WEBHOOK_BEARER_TOKEN: BEARER }
const auth = { authorization: `Bearer ${BEARER}` }

const gates = useGates()

const deliver = (h: Harness, messages: unknown[], business = BUSINESS) =>
  post(`${h.url}/webhooks/kaleyra`, kaleyraBody(business, messages), auth)

describe('a BSUID check with Kaleyra as the upstream', () => {
  it('is identity_unresolved, a 200 deny, when no number and no event is known; Kaleyra is never asked', async () => {
    const h = await gates.start({ consents: [grant(USER)], env: ENV })
    const res = await h.canCall(BSUID)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      allowed: false,
      reason: 'identity_unresolved',
      user: BSUID,
      consent: null,
      retry_at: null,
      can_request_permission: null,
      source: 'none',
    })
    // A fresh check cannot ask Kaleyra either.
    expect((await h.canCall(BSUID, '&fresh=true')).body.reason).toBe('identity_unresolved')
    expect(h.sim.requests).toHaveLength(0)
  })

  it('answers from a reply that carried only the BSUID (no from), never dropping it', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    const res = await deliver(h, [
      replyMessage({
        id: 'w1',
        user: USER,
        noFrom: true,
        bsuid: BSUID,
        at: T0,
        response: 'accept',
        permanent: true,
      }),
    ])
    expect(res.body).toMatchObject({ received: 1, applied: 1, ignored: 0 })
    expect((await h.canCall(BSUID)).body).toMatchObject({ allowed: true, source: 'event', user: BSUID })
    // The number was never shown: a check by it asks Kaleyra, which holds nothing.
    expect((await h.canCall(USER)).body).toMatchObject({
      allowed: false,
      reason: 'no_consent',
      source: 'upstream',
    })
  })

  it('links the BSUID to the number a reply shows with it: a BSUID check then asks Kaleyra by the number', async () => {
    const h = await gates.start({ consents: [grant(USER)], env: ENV })
    await deliver(h, [
      replyMessage({
        id: 'w1',
        user: USER,
        bsuid: BSUID,
        at: T0 - 1000,
        response: 'accept',
        expiresAt: T0 + 86_400_000,
      }),
    ])
    h.clock.advance(400_000) // past the event's cached answer (CACHE_MAX_TTL_SECONDS 300)
    const res = await h.canCall(BSUID)
    expect(res.body).toMatchObject({
      allowed: true,
      reason: 'consent_granted',
      source: 'upstream',
      user: BSUID,
    })
    expect(h.sim.requests.at(-1)?.user).toEqual([USER])
    // Both identities see the same cached fact: no second request.
    expect((await h.canCall(USER)).body.source).toBe('cache')
    expect(h.sim.requests).toHaveLength(1)
  })

  it('a reject by either identity reaches the other, whichever the reply names', async () => {
    const h = await gates.start({ consents: [grant(USER)], env: ENV })
    await deliver(h, [
      replyMessage({
        id: 'link',
        user: USER,
        bsuid: BSUID,
        parentBsuid: PARENT,
        at: T0 - 5000,
        response: 'accept',
        permanent: true,
      }),
    ])
    h.clock.advance(1000)
    // A BSUID-only reject (a username user) must stop calls by the number too.
    await deliver(h, [
      replyMessage({ id: 'rej', user: USER, noFrom: true, bsuid: BSUID, at: T0, response: 'reject' }),
    ])
    for (const who of [USER, BSUID, PARENT])
      expect((await h.canCall(who)).body, who).toMatchObject({ allowed: false, reason: 'consent_rejected' })
    // And a later accept by the number reaches the BSUIDs.
    h.clock.advance(1000)
    await deliver(h, [
      replyMessage({ id: 'acc', user: USER, at: T0 + 1000, response: 'accept', permanent: true }),
    ])
    for (const who of [USER, BSUID, PARENT]) expect((await h.canCall(who)).body.allowed, who).toBe(true)
  })

  it('a late reply that links the identities never grants past a newer reject under the BSUID', async () => {
    const h = await gates.start({ consents: [reject(USER)], env: ENV })
    // The username user rejects (BSUID only), then an older accept showing both identities arrives late.
    await deliver(h, [
      replyMessage({ id: 'rej', user: USER, noFrom: true, bsuid: BSUID, at: T0, response: 'reject' }),
    ])
    const late = await deliver(h, [linkingReply('old', T0 - 60_000)])
    expect(late.body).toMatchObject({ received: 1, applied: 0, outdated: 1 })
    // The link stands; the reject is the user's newest fact, under either identity.
    expect((await h.canCall(BSUID)).body).toMatchObject({ allowed: false, reason: 'consent_rejected' })
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, reason: 'consent_rejected' })
  })

  it("linking two histories never lets the number's older accept stand for the BSUID's newer reject", async () => {
    const h = await gates.start({ consents: [], env: ENV })
    // Before anything links them: an accept under the number, a newer reject under the BSUID alone.
    await deliver(h, [
      replyMessage({ id: 'acc', user: USER, at: T0 - 5000, response: 'accept', permanent: true }),
    ])
    await deliver(h, [
      replyMessage({ id: 'rej', user: USER, noFrom: true, bsuid: BSUID, at: T0 - 1000, response: 'reject' }),
    ])
    expect((await h.canCall(USER)).body.allowed).toBe(true)
    // An even older reply names both: outdated for each key, yet it links them.
    await deliver(h, [linkingReply('old', T0 - 9000)])
    // The user's newest fact is the reject: neither identity may say yes on the number's older accept.
    for (const who of [BSUID, USER]) expect((await h.canCall(who)).body.allowed, who).toBe(false)
  })

  it("a number change drops the old number's links and its cached consent, for every business", async () => {
    const h = await gates.start({
      consents: [grant(USER), grant(USER, { business: OTHER_BUSINESS })],
      env: ENV,
    })
    await deliver(h, [linkingReply('link', T0 - 1000)])
    expect((await h.canCall(USER, '', OTHER_BUSINESS)).body.allowed).toBe(true)
    expect((await h.canCall(BSUID)).body.allowed).toBe(true)
    const asked = h.sim.requests.length
    h.sim.remove(BUSINESS, USER)
    h.sim.remove(OTHER_BUSINESS, USER)
    const res = await deliver(h, [
      numberChangeMessage({ id: 'chg', oldUser: USER, newUser: NEW_NUMBER, at: T0 }),
    ])
    expect(res.body).toMatchObject({ identity_changes: 1, received: 0 })
    // The cached grants are gone: both businesses ask Kaleyra again, which no longer holds them.
    expect((await h.canCall(USER, '', OTHER_BUSINESS)).body).toMatchObject({
      allowed: false,
      source: 'upstream',
    })
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, source: 'upstream' })
    // The BSUID is no longer the old number's: nothing is known of it.
    expect((await h.canCall(BSUID)).body.reason).toBe('identity_unresolved')
    expect(h.sim.requests.length).toBe(asked + 2)
    // A redelivery changes nothing more.
    expect(
      (await deliver(h, [numberChangeMessage({ id: 'chg', oldUser: USER, newUser: NEW_NUMBER, at: T0 })]))
        .body,
    ).toMatchObject({ identity_changes: 0 })
  })

  it('counts a call placed by BSUID in the streak of the number it is linked to', async () => {
    const h = await gates.start({ consents: [grant(USER)], env: { ...ENV, UNANSWERED_STREAK_LIMIT: '2' } })
    await deliver(h, [linkingReply('link', T0 - 1000)])
    const report = (user: string) =>
      post(`${h.url}/call-outcomes`, { business: BUSINESS, user, outcome: 'unanswered' })
    expect((await report(BSUID)).body.results[0]).toMatchObject({
      user: BSUID,
      unanswered_streak: 1,
      blocked: false,
    })
    expect((await report(USER)).body.results[0]).toMatchObject({ unanswered_streak: 2, blocked: true })
    for (const who of [USER, BSUID])
      expect((await h.canCall(who)).body, who).toMatchObject({ allowed: false, reason: 'unanswered_streak' })
  })

  it('evicts by BSUID through DELETE /cache, under the BSUID and its linked number', async () => {
    const admin = 'admin-token-0123456789abcdef'
    const h = await gates.start({ consents: [grant(USER)], env: { ...ENV, ADMIN_API_TOKEN: admin } })
    await deliver(h, [linkingReply('link', T0 - 1000)])
    const del = await request(`${h.url}/cache?business=${encodeURIComponent(BUSINESS)}&user=${BSUID}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${admin}` },
    })
    expect(del.statusCode).toBe(200)
    expect(((await del.body.json()) as { evicted: number }).evicted).toBe(2)
    expect((await h.canCall(BSUID)).body.source).toBe('upstream')
  })

  it('refuses a user that is neither a number nor a BSUID with a 400 naming both shapes', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    for (const bad of ['us.123', 'US.12-3', `US.${'1'.repeat(129)}`]) {
      const res = await h.canCall(bad)
      expect(res.status, bad).toBe(400)
      expect(res.body.message).toMatch(/BSUID/)
    }
    expect(h.sim.requests).toHaveLength(0)
  })

  it('masks BSUIDs in the decision log as it masks numbers', async () => {
    const h = await gates.start({ consents: [reject(USER)], env: ENV, logLevel: 'info' })
    await h.canCall(BSUID)
    const text = h.logs.text()
    expect(text).not.toContain(BSUID)
    expect(text).not.toContain('13491208655302741918')
    expect(text).toContain('IN.***1918')
  })
})
