import { describe, expect, it } from 'vitest'
import { BUSINESS, T0, grant, useGates, type Harness, type HarnessOptions } from '../helpers/gate.js'
import { kaleyraBody, post, replyMessage } from '../helpers/webhooks.js'

const USER = '+919000000001'
const BEARER = 'kaleyra-callback-token-0123'
const ADMIN = 'admin-token-0123456789abc'
const ENV = { WEBHOOK_BEARER_TOKEN: BEARER, ADMIN_API_TOKEN: ADMIN }

const gates = useGates()
const start = (opts: HarnessOptions) => gates.start({ logLevel: 'warn', ...opts })
const hook = (h: Harness, r: Parameters<typeof replyMessage>[0]) =>
  post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, [replyMessage(r)]), {
    authorization: `Bearer ${BEARER}`,
  })
const outcome = (h: Harness, body: object) =>
  post(`${h.url}/call-outcomes`, { business: BUSINESS, user: USER, ...body })

describe('ordering found by review: a single gate', () => {
  it('keeps a reject for its TTL even against a fresh=true Kaleyra grant', async () => {
    // Kaleyra has not learnt of the reject yet (the webhook reached the gate first).
    const h = await start({ consents: [grant(USER)], env: ENV })
    h.clock.advance(5000)
    expect((await h.canCall(USER)).body.allowed).toBe(true)
    h.clock.advance(5000)
    // the user rejects now; the reply is stamped 1 s ago
    expect(
      (await hook(h, { id: 'rej', user: USER, at: h.clock.now() - 1000, response: 'reject' })).body.applied,
    ).toBe(1)
    expect((await h.canCall(USER)).body.allowed).toBe(false)
    // the deny is still within its 30 s TTL; a fresh check asks Kaleyra and the (older) reject is dropped
    const res = await h.canCall(USER, '&fresh=true')
    expect(res.body).toMatchObject({ allowed: false })
  })

  it('does not let an accept dated before the unanswered calls end a blocked streak', async () => {
    const h = await start({ consents: [grant(USER)], env: { ...ENV, UNANSWERED_STREAK_LIMIT: '3' } })
    expect((await h.canCall(USER)).body.allowed).toBe(true) // Kaleyra fact at T0
    h.clock.advance(10_000)
    for (let i = 0; i < 3; i++) {
      h.clock.advance(1000)
      await outcome(h, { outcome: 'unanswered', decision_id: `d${i}` })
    }
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, reason: 'unanswered_streak' })
    // a reply stamped T0+5s (before all three unanswered calls) arrives late
    const r = await hook(h, {
      id: 'late-acc',
      user: USER,
      at: T0 + 5000,
      response: 'accept',
      permanent: true,
    })
    expect(r.body.applied).toBe(1)
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, reason: 'unanswered_streak' })
  })
})

describe('ordering found by review: a deny holds its TTL', () => {
  it('keeps a reject for its TTL when cache pressure pushes its entry out', async () => {
    const h = await start({ consents: [grant(USER)], env: { ...ENV, CACHE_MAX_ENTRIES: '2' } })
    h.clock.advance(1000)
    expect(
      (await hook(h, { id: 'rej', user: USER, at: h.clock.now(), response: 'reject' })).body.applied,
    ).toBe(1)
    expect((await h.canCall(USER)).body.allowed).toBe(false)
    for (const other of ['+919000000002', '+919000000003']) await h.canCall(other)
    h.clock.advance(1000) // well within the 30 s deny TTL
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false })
  })
})
