import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { expectContract } from '../helpers/contract.js'
import { BUSINESS, T0, grant, startHarness, useGates, type Harness } from '../helpers/gate.js'
import { startRequest } from '../helpers/raw-http.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, metaBody, post, replyMessage, sign } from '../helpers/webhooks.js'

const USER = '+919000000001'
const BEARER = 'kaleyra-callback-token-0123'
const SECRET = 'meta-app-secret-0123456789'
const ENV = { WEBHOOK_BEARER_TOKEN: BEARER, META_APP_SECRET: SECRET }
/** Epoch seconds some 317,000 years ahead: what made every later check of the pair a 500 before the bound. */
const ABSURD_SECONDS = 10_000_000_000_000

const gates = useGates()

const metaPost = (h: Harness, body: string | undefined, signature: string) =>
  request(`${h.url}/webhooks/meta`, {
    method: 'POST',
    headers: {
      'x-hub-signature-256': signature,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body,
  }).then(async (res) => ({ status: res.statusCode, body: (await res.body.json()) as any }))

describe('POST /webhooks/meta without a body', () => {
  it('answers 401 when the signature is not that of the empty body', async () => {
    const h = await gates.start({ env: ENV })
    const res = await metaPost(h, undefined, sign('{}', SECRET))
    expect(res).toMatchObject({ status: 401, body: { allowed: false, reason: 'unauthorized' } })
  })

  it('answers 400 when the empty body is correctly signed, as it does to a signed body that is not JSON', async () => {
    const h = await gates.start({ env: ENV })
    const empty = await metaPost(h, undefined, sign('', SECRET))
    expect(empty).toMatchObject({ status: 400, body: { allowed: false, reason: 'invalid_request' } })
    expect(empty.body.message).toMatch(/not JSON/)
    const notJson = await metaPost(h, 'not json', sign('not json', SECRET))
    expect(notJson).toMatchObject({ status: 400, body: { reason: 'invalid_request' } })
  })
})

describe('an expiration_timestamp no answer could format', () => {
  const absurdAccept = (expiration: number | string) => {
    const message: any = replyMessage({ id: `wamid.${expiration}`, user: USER, at: T0, response: 'accept' })
    message.interactive.call_permission_reply.expiration_timestamp = expiration
    return message
  }

  it.each([
    ['a number', ABSURD_SECONDS],
    ['a string', String(ABSURD_SECONDS)],
  ])(
    'as %s: the Kaleyra callback is a 400 naming the field, and the pair still gets answers',
    async (_as, exp) => {
      const h = await gates.start({ env: ENV })
      const res = await post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, [absurdAccept(exp)]), {
        authorization: `Bearer ${BEARER}`,
      })
      expect(res).toMatchObject({ status: 400, body: { allowed: false, reason: 'invalid_request' } })
      expect(res.body.message).toMatch(/expiration_timestamp/)
      // Nothing was stored: the check asks Kaleyra, which holds no record.
      expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, reason: 'no_consent' })
    },
  )

  it('on Meta own webhook, signed: a 400 naming the field', async () => {
    const h = await gates.start({ env: ENV })
    const raw = JSON.stringify(metaBody(BUSINESS, [absurdAccept(ABSURD_SECONDS)]))
    const res = await metaPost(h, raw, sign(raw, SECRET))
    expect(res).toMatchObject({ status: 400, body: { reason: 'invalid_request' } })
    expect(res.body.message).toMatch(/^entry\.0\.changes\.0\.value\.messages\.0\..*expiration_timestamp /)
    expect((await h.canCall(USER)).status).toBe(200)
  })

  it('a message timestamp of more than ten digits is a 400 naming the field', async () => {
    const h = await gates.start({ env: ENV })
    const message = {
      ...replyMessage({ id: 'm', user: USER, at: T0, response: 'reject' }),
      timestamp: '1'.repeat(11),
    }
    const res = await post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, [message]), {
      authorization: `Bearer ${BEARER}`,
    })
    expect(res).toMatchObject({ status: 400, body: { reason: 'invalid_request' } })
    expect(res.body.message).toMatch(/messages\.0\.timestamp/)
  })

  it('accepts the last second of the range, 9999999999, and answers with it', async () => {
    const h = await gates.start({ env: ENV })
    const res = await post(
      `${h.url}/webhooks/kaleyra`,
      kaleyraBody(BUSINESS, [absurdAccept(9_999_999_999)]),
      {
        authorization: `Bearer ${BEARER}`,
      },
    )
    expect(res).toMatchObject({ status: 200, body: { applied: 1 } })
    expect((await h.canCall(USER)).body).toMatchObject({
      allowed: true,
      consent: { expires_at: '2286-11-20T17:46:39.000Z' },
    })
  })

  it('from Kaleyra, fails the check closed with 503 upstream_unavailable: never a decision, never a 500', async () => {
    const h = await gates.start({ consents: [grant(USER, { expiresAt: Date.UTC(2300, 0, 1) })] })
    const res = await h.canCall(USER)
    expect(res).toMatchObject({ status: 503, body: { allowed: false, reason: 'upstream_unavailable' } })
    expect(res.body.message).toMatch(/expiration timestamp/)
    expect(res.headers['retry-after']).toBeDefined()
  })
})

describe('a request that arrives while the gate shuts down', () => {
  it('gets the envelope: 503 overloaded, saying so, with Retry-After; /readyz says shutting_down', async () => {
    const gate = await startHarness({ consents: [grant(USER)] })
    const query = `business=${encodeURIComponent(BUSINESS)}&user=${encodeURIComponent(USER)}`
    const pending = await Promise.all(
      [`/can-call?${query}`, '/no-such-route', '/readyz'].map((path) => startRequest(gate, path)),
    )
    const [check, unknown, ready] = pending
    const closed = gate.gate.close()
    try {
      // The gate stopped accepting connections.
      await waitFor(() => !gate.gate.server.listening, 5000, 5)

      const refused = await check!.finish()
      expect(refused.status).toBe(503)
      expect(refused.body).toMatchObject({ allowed: false, reason: 'overloaded' })
      expect(refused.body.message).toMatch(/shutting down/)
      expectContract('can-call', 503, refused.body)
      expect(refused.headers['retry-after']).toBe('1')
      expect(refused.headers.connection).toBe('close')
      expect(await unknown!.finish()).toMatchObject({ status: 503, body: { reason: 'overloaded' } })
      expect(await ready!.finish()).toMatchObject({ status: 503, body: { status: 'shutting_down' } })
      expect(gate.sim.requests).toHaveLength(0)
    } finally {
      for (const request of pending) request.destroy()
      await closed
      await gate.sim.close()
    }
  })
})
