import { describe, expect, it } from 'vitest'
import { BUSINESS, DAY_MS, T0, grant, useGates, type Harness } from '../helpers/gate.js'
import { kaleyraBody, metaBody, post, replyMessage, sign } from '../helpers/webhooks.js'
import { waitFor } from '../helpers/wait.js'

const USER = '+919000000001'
const BEARER = 'kaleyra-callback-token-0123'
const BASIC = 'kaleyra:callback-password'
const SECRET = 'meta-app-secret-0123456789'
const ENV = {
  WEBHOOK_BEARER_TOKEN: BEARER,
  WEBHOOK_BASIC_AUTH: BASIC,
  META_APP_SECRET: SECRET,
  META_VERIFY_TOKEN: 'verify-me-please',
}
const GRANTED = [grant(USER, { is_permanent: true, expiresAt: null })]
const auth = { authorization: `Bearer ${BEARER}` }

const gates = useGates()

const kaleyra = (h: Harness, messages: unknown[], headers: Record<string, string> = auth) =>
  post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, messages), headers)

describe('POST /webhooks/kaleyra', () => {
  it('a reject makes the next check deny at once, with no upstream request', async () => {
    const h = await gates.start({ consents: GRANTED, env: ENV })
    expect((await h.canCall(USER)).body.allowed).toBe(true)
    h.clock.advance(2000)
    const res = await kaleyra(h, [
      replyMessage({ id: 'wamid.1', user: USER, at: T0 + 1000, response: 'reject' }),
    ])
    expect(res).toMatchObject({ status: 200, body: { received: 1, applied: 1 } })
    const after = await h.canCall(USER)
    expect(after.body).toMatchObject({ allowed: false, reason: 'consent_rejected', source: 'event' })
    expect(after.body.checked_at).toBe(new Date(T0 + 1000).toISOString())
    expect(h.sim.requests).toHaveLength(1)
  })

  it('an accept allows at once and expires on time', async () => {
    const h = await gates.start({ consents: [], env: { ...ENV, CACHE_MAX_TTL_SECONDS: '3600' } })
    const expiresAt = T0 + 600_000
    await kaleyra(h, [replyMessage({ id: 'wamid.2', user: USER, at: T0, response: 'accept', expiresAt })])
    expect((await h.canCall(USER)).body).toMatchObject({
      allowed: true,
      reason: 'consent_granted',
      source: 'event',
      consent: { response: 'accept', is_permanent: false, expires_at: new Date(expiresAt).toISOString() },
    })
    expect(h.sim.requests).toHaveLength(0)
    h.clock.advance(599_999)
    expect((await h.canCall(USER)).body.source).toBe('event')
    h.clock.advance(1)
    expect((await h.canCall(USER)).body).toMatchObject({ source: 'upstream', reason: 'no_consent' })
  })

  it('accepts an expiration_timestamp sent as a number, and a permanent accept without one', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    await kaleyra(h, [
      replyMessage({
        id: 'a',
        user: USER,
        at: T0,
        response: 'accept',
        expiresAt: T0 + DAY_MS,
        expiryAsNumber: true,
      }),
      replyMessage({ id: 'b', user: '+919000000002', at: T0, response: 'accept', permanent: true }),
    ])
    expect((await h.canCall(USER)).body.consent.expires_at).toBe(new Date(T0 + DAY_MS).toISOString())
    expect((await h.canCall('+919000000002')).body).toMatchObject({
      allowed: true,
      consent: { is_permanent: true, expires_at: null },
    })
  })

  it('accepts Basic auth as configured', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    const basic = { authorization: `Basic ${Buffer.from(BASIC).toString('base64')}` }
    const res = await kaleyra(h, [replyMessage({ id: 'c', user: USER, at: T0, response: 'reject' })], basic)
    expect(res.status).toBe(200)
  })

  it('applies a duplicate delivery once and ignores an older event', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    const reject = replyMessage({ id: 'wamid.new', user: USER, at: T0 + 5000, response: 'reject' })
    const olderAccept = replyMessage({
      id: 'wamid.old',
      user: USER,
      at: T0 + 1000,
      response: 'accept',
      permanent: true,
    })
    expect((await kaleyra(h, [reject])).body.applied).toBe(1)
    expect((await kaleyra(h, [reject])).body).toMatchObject({ applied: 0, duplicates: 1 })
    expect((await kaleyra(h, [olderAccept])).body).toMatchObject({ applied: 0, outdated: 1 })
    expect((await h.canCall(USER)).body).toMatchObject({
      allowed: false,
      reason: 'consent_rejected',
      source: 'event',
    })
  })

  it('applies a late reject even when Kaleyra answered after it: a deny never waits (fail closed)', async () => {
    const h = await gates.start({ consents: GRANTED, env: ENV })
    await h.canCall(USER)
    const res = await kaleyra(h, [
      replyMessage({ id: 'late', user: USER, at: T0 - 60_000, response: 'reject' }),
    ])
    expect(res.body.applied).toBe(1)
    expect((await h.canCall(USER)).body).toMatchObject({
      allowed: false,
      reason: 'consent_rejected',
      source: 'event',
    })
  })

  it('ignores an accept older than the answer Kaleyra gave', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    await h.canCall(USER)
    const res = await kaleyra(h, [
      replyMessage({ id: 'old-accept', user: USER, at: T0 - 60_000, response: 'accept', permanent: true }),
    ])
    expect(res.body.outdated).toBe(1)
    expect((await h.canCall(USER)).body).toMatchObject({
      allowed: false,
      reason: 'no_consent',
      source: 'cache',
    })
  })

  it('lets a reject win over an accept stamped the same second, in any order', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    h.clock.advance(5000)
    const at = T0 + 1000
    await kaleyra(h, [replyMessage({ id: 'rej', user: USER, at, response: 'reject' })])
    expect(
      (await kaleyra(h, [replyMessage({ id: 'acc', user: USER, at, response: 'accept', permanent: true })]))
        .body.outdated,
    ).toBe(1)
    expect((await h.canCall(USER)).body.reason).toBe('consent_rejected')
  })

  it('acknowledges and ignores other message types', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    const text = {
      from: '919000000001',
      id: 'wamid.text',
      timestamp: String(T0 / 1000),
      type: 'text',
      text: { body: 'hi' },
    }
    const res = await kaleyra(h, [text])
    expect(res).toMatchObject({ status: 200, body: { received: 0, ignored: 1 } })
  })

  it.each([
    ['no credentials', {}],
    ['a wrong bearer token', { authorization: 'Bearer not-the-right-token-000' }],
    [
      'a wrong password',
      { authorization: `Basic ${Buffer.from('kaleyra:wrong-password').toString('base64')}` },
    ],
  ])('answers 401 to %s and changes nothing', async (_name, headers) => {
    const h = await gates.start({ consents: GRANTED, env: ENV })
    const res = await kaleyra(h, [replyMessage({ id: 'x', user: USER, at: T0, response: 'reject' })], headers)
    expect(res.status).toBe(401)
    expect(res.body.reason).toBe('unauthorized')
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: true, source: 'upstream' })
  })

  it.each([
    ['not JSON', '{"meta_object": '],
    ['no meta_object', { extra_info: {} }],
    [
      'a reply without timestamp',
      kaleyraBody(BUSINESS, [
        { ...replyMessage({ id: 'y', user: USER, at: T0, response: 'reject' }), timestamp: undefined },
      ]),
    ],
    [
      'a reply from a number that is not one',
      kaleyraBody(BUSINESS, [replyMessage({ id: 'z', user: '+91abc', at: T0, response: 'reject' })]),
    ],
  ])('answers 400 to a body with %s and changes nothing', async (_name, body) => {
    const h = await gates.start({ consents: GRANTED, env: ENV })
    const good = replyMessage({ id: 'good', user: USER, at: T0, response: 'reject' })
    const payload = typeof body === 'string' ? body : JSON.parse(JSON.stringify(body))
    if (typeof payload !== 'string' && payload.meta_object) payload.meta_object.value.messages.unshift(good)
    const res = await post(`${h.url}/webhooks/kaleyra`, payload, auth)
    expect(res.status).toBe(400)
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: true, source: 'upstream' })
  })

  it('is not registered without WEBHOOK_BEARER_TOKEN or WEBHOOK_BASIC_AUTH', async () => {
    const h = await gates.start({ consents: [] })
    expect((await kaleyra(h, [])).status).toBe(404)
  })

  it.each([
    ['a reply sent before the lookup started (delivery lags)', {}],
    ['no caching of denies at all', { CACHE_NEGATIVE_TTL_SECONDS: '0' }],
  ])('lets a reject that arrives during a lookup win over its answer: %s', async (_name, extra) => {
    const h = await gates.start({ consents: GRANTED, env: { ...ENV, ...extra } })
    h.clock.advance(3000)
    h.sim.setFault({ kind: 'latency', ms: 200 }, 1)
    const inflight = h.canCall(USER)
    await waitFor(() => h.sim.requests.length > 0, 2000, 5)
    // The user replied 2 s before the lookup began; the webhook only reaches the gate now.
    await kaleyra(h, [replyMessage({ id: 'during', user: USER, at: T0 + 1000, response: 'reject' })])
    expect((await inflight).body).toMatchObject({
      allowed: false,
      reason: 'consent_rejected',
      source: 'event',
    })
    // With denies cached, the next check keeps it; with CACHE_NEGATIVE_TTL_SECONDS=0 it asks Kaleyra again.
    if (!('CACHE_NEGATIVE_TTL_SECONDS' in extra)) {
      expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, reason: 'consent_rejected' })
    }
  })
})

describe('/webhooks/meta', () => {
  it('answers the subscription handshake only with the right verify token', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    const ok = await h.get(
      '/webhooks/meta?hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444',
    )
    expect(ok).toMatchObject({ status: 200, body: '1158201444' })
    const bad = await h.get(
      '/webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444',
    )
    expect(bad.status).toBe(403)
    expect(bad.body).not.toContain('1158201444')
  })

  it('applies a delivery signed with META_APP_SECRET', async () => {
    const h = await gates.start({ consents: GRANTED, env: ENV })
    const raw = JSON.stringify(
      metaBody(BUSINESS, [
        replyMessage({ id: 'm1', user: USER, at: T0, response: 'reject', source: 'automatic' }),
      ]),
    )
    const res = await post(`${h.url}/webhooks/meta`, raw, { 'x-hub-signature-256': sign(raw, SECRET) })
    expect(res).toMatchObject({ status: 200, body: { applied: 1 } })
    expect((await h.canCall(USER)).body).toMatchObject({
      reason: 'consent_rejected',
      source: 'event',
      consent: { response_source: 'automatic' },
    })
  })

  it.each([
    ['no signature', undefined],
    ['a signature made with another secret', 'other'],
    ['a signature of another body', 'body'],
  ])('answers 401 to %s and changes nothing', async (_name, variant) => {
    const h = await gates.start({ consents: GRANTED, env: ENV })
    const raw = JSON.stringify(
      metaBody(BUSINESS, [replyMessage({ id: 'm2', user: USER, at: T0, response: 'reject' })]),
    )
    const headers: Record<string, string> =
      variant === undefined
        ? {}
        : {
            'x-hub-signature-256':
              variant === 'other' ? sign(raw, 'another-secret-000000') : sign(`${raw} `, SECRET),
          }
    expect((await post(`${h.url}/webhooks/meta`, raw, headers)).status).toBe(401)
    expect((await h.canCall(USER)).body.allowed).toBe(true)
  })

  it('answers 400 to a signed body that is not a Meta delivery', async () => {
    const h = await gates.start({ consents: [], env: ENV })
    for (const raw of ['not json', JSON.stringify({ hello: 'world' })]) {
      expect(
        (await post(`${h.url}/webhooks/meta`, raw, { 'x-hub-signature-256': sign(raw, SECRET) })).status,
      ).toBe(400)
    }
  })

  it('is not registered without META_APP_SECRET and META_VERIFY_TOKEN', async () => {
    const h = await gates.start({ consents: [] })
    expect((await post(`${h.url}/webhooks/meta`, '{}')).status).toBe(404)
    expect((await h.get('/webhooks/meta?hub.mode=subscribe')).status).toBe(404)
  })
})
