import { describe, expect, it } from 'vitest'
import { BUSINESS, DAY_MS, T0, grant, metaEnv, reject, useGates, type Harness } from '../helpers/gate.js'
import { kaleyraBody, post, replyMessage } from '../helpers/webhooks.js'
import { createKaleyraSimulator } from '../../src/simulator/simulator.js'
import { waitFor } from '../helpers/wait.js'

/** UPSTREAM=meta: the gate against the simulator's Graph API, over real HTTP. */

const USER = '+919000000001'
const BSUID = 'IN.13491208655302741918'
const UNMAPPED = '+918000000099'
const BEARER = 'kaleyra-callback-token-0123'
const auth = { authorization: `Bearer ${BEARER}` }

const gates = useGates()
const meta = (over: Parameters<typeof gates.start>[0] = {}) =>
  gates.start({ upstream: 'meta', ...over, env: { WEBHOOK_BEARER_TOKEN: BEARER, ...over.env } })
const graphRequests = (h: Harness) => h.sim.requests.filter((r) => r.api === 'meta')

describe('UPSTREAM=meta', () => {
  it('grants a temporary permission, asking Graph by phone number id and user_wa_id with the token', async () => {
    const h = await meta({ consents: [grant(USER)] })
    const res = await h.canCall(USER)
    expect(res.body).toMatchObject({
      allowed: true,
      reason: 'consent_granted',
      source: 'upstream',
      consent: { response: 'accept', is_permanent: false, expires_at: new Date(T0 + DAY_MS).toISOString() },
      retry_at: null,
      can_request_permission: false,
    })
    const [asked] = graphRequests(h)
    expect(asked?.path).toBe(`/v23.0/${h.sim.phoneNumberIdOf(BUSINESS)}/call_permissions`)
    expect(asked?.query).toMatchObject({ user_wa_id: '919000000001' })
    expect(asked?.apiKeyOk).toBe(true)
    expect((await h.canCall(USER)).body.source).toBe('cache')
    expect(graphRequests(h)).toHaveLength(1)
  })

  it('says no_consent for no_permission, with whether the business may ask now', async () => {
    const h = await meta({ consents: [reject(USER)] })
    expect((await h.canCall(USER)).body).toMatchObject({
      allowed: false,
      reason: 'no_consent',
      consent: null,
      can_request_permission: true,
      retry_at: null,
    })
  })

  it('says consent_expired for an expired temporary permission', async () => {
    const h = await meta({ consents: [grant(USER, { expiresAt: T0 - 1000 })] })
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, reason: 'consent_expired' })
  })

  it('says action_not_permitted with retry_at when the call limit is used up, and asks again at retry_at', async () => {
    const resetsAt = T0 + 20_000
    const h = await meta({
      consents: [
        grant(USER, {
          is_permanent: true,
          expiresAt: null,
          can_perform_action: false,
          startCallLimitResetsAt: resetsAt,
        }),
      ],
      env: { CACHE_NEGATIVE_TTL_SECONDS: '3600' },
    })
    expect((await h.canCall(USER)).body).toMatchObject({
      allowed: false,
      reason: 'action_not_permitted',
      retry_at: new Date(resetsAt).toISOString(),
      consent: { response: 'accept', is_permanent: true, can_perform_action: false },
    })
    h.sim.upsert(grant(USER, { is_permanent: true, expiresAt: null }))
    h.clock.advance(19_999)
    expect((await h.canCall(USER)).body.source).toBe('cache')
    // Never cached past its retry_at, whatever CACHE_NEGATIVE_TTL_SECONDS says.
    h.clock.advance(1)
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: true, source: 'upstream' })
  })

  it('answers 613 with a 503 upstream_unavailable and a Retry-After', async () => {
    const h = await meta({ consents: [grant(USER)], env: { UPSTREAM_RETRIES: '0' } })
    h.sim.setFault({ kind: 'graph_error', code: 613, status: 429 })
    const res = await h.canCall(USER)
    expect(res.status).toBe(503)
    expect(res.body.reason).toBe('upstream_unavailable')
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(res.body.message).toMatch(/rate-limited|Meta/)
  })

  it('answers 190 (a bad token) with upstream_auth_failed, never echoing the token', async () => {
    const sim = createKaleyraSimulator({ consents: [grant(USER)] })
    await sim.listen(0)
    const token = 'not-the-simulator-token-0123456789'
    const h = await meta({ sim, env: { ...metaEnv(sim), META_ACCESS_TOKEN: token } })
    const res = await h.canCall(USER)
    expect(res.status).toBe(503)
    expect(res.body.reason).toBe('upstream_auth_failed')
    expect(JSON.stringify(res.body)).not.toContain(token)
    expect(h.logs.text()).not.toContain(token)
    expect(h.logs.text()).not.toContain(sim.metaAccessToken)
  })

  it('refuses a business number that is not in the map with a 400 naming it, sending nothing', async () => {
    const h = await meta({ consents: [grant(USER)] })
    const res = await h.canCall(USER, '', UNMAPPED)
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ reason: 'invalid_request' })
    expect(res.body.message).toContain(UNMAPPED)
    const batch = await post(`${h.url}/can-call/batch`, {
      checks: [
        { business: UNMAPPED, user: USER },
        { business: BUSINESS, user: USER },
      ],
    })
    expect(batch.body.results[0]).toMatchObject({ allowed: false, reason: 'invalid_request' })
    expect(batch.body.results[1]).toMatchObject({
      allowed: true,
      retry_at: null,
      can_request_permission: false,
    })
    expect(graphRequests(h).every((r) => r.business[0] === BUSINESS)).toBe(true)
  })

  it('asks about a BSUID by recipient=', async () => {
    const h = await meta({ consents: [grant(BSUID, { is_permanent: true, expiresAt: null })] })
    expect((await h.canCall(BSUID)).body).toMatchObject({ allowed: true, user: BSUID, source: 'upstream' })
    expect(graphRequests(h)[0]?.query).toMatchObject({ recipient: BSUID })
    expect(graphRequests(h)[0]?.query.user_wa_id).toBeUndefined()
  })

  it('asks by the number once a webhook linked the BSUID to it, and both identities share the answer', async () => {
    const h = await meta({ consents: [grant(USER)] })
    await post(
      `${h.url}/webhooks/kaleyra`,
      kaleyraBody(BUSINESS, [
        replyMessage({
          id: 'w1',
          user: USER,
          bsuid: BSUID,
          at: T0 - 1000,
          response: 'accept',
          expiresAt: T0 + DAY_MS,
        }),
      ]),
      auth,
    )
    h.clock.advance(400_000)
    expect((await h.canCall(BSUID)).body).toMatchObject({ allowed: true, source: 'upstream', user: BSUID })
    expect(graphRequests(h)[0]?.query).toMatchObject({ user_wa_id: '919000000001' })
    expect((await h.canCall(USER)).body.source).toBe('cache')
    expect(graphRequests(h)).toHaveLength(1)
  })

  it('coalesces concurrent checks of one pair into one Graph request; distinct users are one request each', async () => {
    const users = ['+919000000001', '+919000000002', '+919000000003']
    const h = await meta({ consents: users.map((u) => grant(u)) })
    const hold = h.sim.hold()
    const pending = [...users, ...users, ...users].map((u) => h.canCall(u))
    await waitFor(() => hold.requests.length === 3, 2000)
    hold.release()
    const answers = await Promise.all(pending)
    expect(answers.every((a) => a.body.allowed === true)).toBe(true)
    expect(graphRequests(h)).toHaveLength(3)
    expect(new Set(graphRequests(h).map((r) => r.query.user_wa_id)).size).toBe(3)
  })

  it('discovers business numbers under META_WABA_ID at start', async () => {
    const sim = createKaleyraSimulator({ consents: [grant(USER)] })
    await sim.listen(0)
    const { META_PHONE_NUMBERS: _, ...env } = metaEnv(sim)
    const h = await meta({ sim, env: { ...env, META_WABA_ID: sim.wabaId } })
    expect((await h.canCall(USER)).body.allowed).toBe(true)
    expect(sim.requests.some((r) => r.path.endsWith(`/${sim.wabaId}/phone_numbers`))).toBe(true)
    const metrics = String((await h.get('/metrics')).body)
    expect(metrics).toMatch(/^consent_gate_meta_phone_numbers 1$/m)
    expect(metrics).toMatch(/^consent_gate_meta_discovery_failures_total 0$/m)
  })
})
