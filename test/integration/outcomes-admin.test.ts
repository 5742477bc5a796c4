import { describe, expect, it } from 'vitest'
import { request } from 'undici'
import { BUSINESS, T0, DAY_MS, grant, reject, useGates, type Harness } from '../helpers/gate.js'
import { post } from '../helpers/webhooks.js'

const USER = '+919000000001'
const OTHER = '+919000000002'
const CONSENTS = [grant(USER), grant(OTHER), grant(USER, { business: '+918000000002' })]
const ADMIN = 'admin-token-0123456789abc'

const gates = useGates()

const outcome = (h: Harness, body: unknown) => post(`${h.url}/call-outcomes`, body)
const report = (h: Harness, outcome: string, extra: Record<string, unknown> = {}) =>
  post(`${h.url}/call-outcomes`, { business: BUSINESS, user: USER, outcome, ...extra })

describe('POST /call-outcomes and the unanswered streak', () => {
  it('denies with unanswered_streak at UNANSWERED_STREAK_LIMIT and allows again after an answered call', async () => {
    const h = await gates.start({ consents: CONSENTS })
    await h.canCall(USER)
    expect((await report(h, 'unanswered')).body.results[0]).toMatchObject({
      unanswered_streak: 1,
      blocked: false,
    })
    await report(h, 'rejected')
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: true })
    expect((await report(h, 'unanswered')).body.results[0]).toMatchObject({
      unanswered_streak: 3,
      blocked: true,
    })
    const denied = await h.canCall(USER)
    expect(denied.body).toMatchObject({
      allowed: false,
      reason: 'unanswered_streak',
      consent: { response: 'accept' },
    })
    expect((await h.canCall(OTHER)).body.allowed).toBe(true)
    await report(h, 'answered')
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: true, reason: 'consent_granted' })
  })

  it('counts a failed call as neither answered nor unanswered', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { UNANSWERED_STREAK_LIMIT: '1' } })
    expect((await report(h, 'failed')).body.results[0].unanswered_streak).toBe(0)
    expect((await h.canCall(USER)).body.allowed).toBe(true)
  })

  it('is off with UNANSWERED_STREAK_LIMIT=0', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { UNANSWERED_STREAK_LIMIT: '0' } })
    for (let i = 0; i < 5; i++) await report(h, 'unanswered')
    expect((await h.canCall(USER)).body.allowed).toBe(true)
  })

  it('forgets a streak after 7 days', async () => {
    const h = await gates.start({
      consents: [grant(USER, { expiresAt: T0 + 30 * DAY_MS })],
      env: { UNANSWERED_STREAK_LIMIT: '1', CACHE_MAX_TTL_SECONDS: '60' },
    })
    await report(h, 'unanswered')
    expect((await h.canCall(USER)).body.reason).toBe('unanswered_streak')
    h.clock.advance(7 * DAY_MS)
    expect((await h.canCall(USER)).body.reason).toBe('unanswered_streak')
    h.clock.advance(1)
    expect((await h.canCall(USER)).body.reason).toBe('consent_granted')
  })

  it('takes an array of up to 1000 outcomes, all or nothing', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { UNANSWERED_STREAK_LIMIT: '2' } })
    const ok = await outcome(h, [
      { business: BUSINESS, user: USER, outcome: 'unanswered' },
      { business: BUSINESS, user: USER, outcome: 'unanswered', decision_id: 'abc' },
    ])
    expect(ok.body.results.map((r: any) => r.unanswered_streak)).toEqual([1, 2])
    const bad = await outcome(h, [
      { business: BUSINESS, user: OTHER, outcome: 'unanswered' },
      { business: BUSINESS, user: '+91abc', outcome: 'unanswered' },
    ])
    expect(bad.status).toBe(400)
    expect(bad.body.message).toContain('[1].user')
    const tooMany = await outcome(
      h,
      Array.from({ length: 1001 }, () => ({ business: BUSINESS, user: USER, outcome: 'answered' })),
    )
    expect(tooMany.status).toBe(400)
    expect((await h.canCall(OTHER)).body.allowed).toBe(true)
    expect((await outcome(h, { business: BUSINESS, user: USER, outcome: 'maybe' })).status).toBe(400)
  })

  it('evicts the pair on error_code 138006 so the next check asks Kaleyra', async () => {
    const h = await gates.start({ consents: CONSENTS })
    await h.canCall(USER)
    h.sim.upsert(reject(USER))
    await report(h, 'failed', { error_code: 138006 })
    expect((await h.canCall(USER)).body).toMatchObject({ reason: 'consent_rejected', source: 'upstream' })
    expect(h.sim.requests).toHaveLength(2)
  })

  it('stores action_not_permitted for CACHE_NEGATIVE_TTL_SECONDS on error_code 138012', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { CACHE_NEGATIVE_TTL_SECONDS: '30' } })
    await h.canCall(USER)
    await report(h, 'failed', { error_code: 138012 })
    expect((await h.canCall(USER)).body).toMatchObject({
      allowed: false,
      reason: 'action_not_permitted',
      source: 'event',
      consent: { can_perform_action: false },
    })
    h.clock.advance(30_000)
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: true, source: 'upstream' })
  })

  it('needs the caller token like /can-call', async () => {
    const token = 'caller-token-0123456789'
    const h = await gates.start({ consents: CONSENTS, env: { GATE_API_TOKENS: token } })
    expect((await report(h, 'answered')).status).toBe(401)
    const res = await post(
      `${h.url}/call-outcomes`,
      { business: BUSINESS, user: USER, outcome: 'answered' },
      { authorization: `Bearer ${token}` },
    )
    expect(res.status).toBe(200)
  })
})

describe('DELETE /cache', () => {
  async function del(h: Harness, query = '', token = ADMIN) {
    const res = await request(`${h.url}/cache${query}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    })
    return { status: res.statusCode, body: (await res.body.json()) as any }
  }
  const warm = (h: Harness) =>
    Promise.all([h.canCall(USER), h.canCall(OTHER), h.canCall(USER, '', '+918000000002')])

  it('evicts one pair', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { ADMIN_API_TOKEN: ADMIN } })
    await warm(h)
    expect((await del(h, `?business=%2B918000000001&user=%2B919000000001`)).body).toEqual({ evicted: 1 })
    expect((await h.canCall(USER)).body.source).toBe('upstream')
    expect((await h.canCall(OTHER)).body.source).toBe('cache')
  })

  it('evicts every pair of a business', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { ADMIN_API_TOKEN: ADMIN } })
    await warm(h)
    expect((await del(h, '?business=%2B918000000001')).body).toEqual({ evicted: 2 })
    expect((await h.canCall(USER, '', '+918000000002')).body.source).toBe('cache')
  })

  it('evicts everything, and counts evictions by cause', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { ADMIN_API_TOKEN: ADMIN } })
    await warm(h)
    expect((await del(h)).body).toEqual({ evicted: 3 })
    expect((await h.canCall(OTHER)).body.source).toBe('upstream')
    expect((await h.get('/metrics')).body).toContain('consent_gate_cache_evictions_total{cause="admin"} 3')
  })

  it('refuses a wrong token and bad input', async () => {
    const h = await gates.start({
      consents: CONSENTS,
      env: { ADMIN_API_TOKEN: ADMIN, GATE_API_TOKENS: 'caller-token-0123456789' },
    })
    await warm(h).catch(() => undefined)
    expect((await del(h, '', 'caller-token-0123456789')).status).toBe(401)
    expect((await del(h, '?user=%2B919000000001')).status).toBe(400)
    expect((await del(h, '?business=abc')).status).toBe(400)
  })

  it('is not registered without ADMIN_API_TOKEN', async () => {
    const h = await gates.start({ consents: CONSENTS })
    expect((await del(h)).status).toBe(404)
  })
})
