import { describe, expect, it } from 'vitest'
import { BUSINESS, DAY_MS, T0, grant, reject, useGates } from '../helpers/gate.js'

/** The temporary records here expire a week after T0. */
const WEEK = { expiresAt: T0 + 7 * DAY_MS }

const U = {
  temporary: '+919000000001',
  permanent: '+919000000002',
  rejected: '+919000000003',
  expired: '+919000000004',
  limit: '+919000000005',
  pending: '+919000000006',
  none: '+919000000009',
}

const SEED = [
  grant(U.temporary, WEEK),
  grant(U.permanent, { is_permanent: true, expiresAt: null }),
  reject(U.rejected, { expiresAt: null }),
  grant(U.expired, { expiresAt: T0 - DAY_MS }),
  grant(U.limit, { ...WEEK, can_perform_action: false }),
  grant(U.pending, { ...WEEK, response: 'pending' }),
]

const gates = useGates()

describe('GET /can-call decisions', () => {
  it.each([
    [U.temporary, true, 'consent_granted'],
    [U.permanent, true, 'consent_granted'],
    [U.rejected, false, 'consent_rejected'],
    [U.expired, false, 'consent_expired'],
    [U.limit, false, 'action_not_permitted'],
    [U.none, false, 'no_consent'],
    [U.pending, false, 'consent_unrecognized'],
  ])('answers %s with allowed=%s and reason %s', async (user, allowed, reason) => {
    const h = await gates.start({ consents: SEED })
    const res = await h.canCall(user)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ allowed, reason, business: BUSINESS, user, source: 'upstream' })
    expect(res.body.checked_at).toBe(new Date(T0).toISOString())
    expect(res.body.decision_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('reports the consent as Kaleyra gave it', async () => {
    const h = await gates.start({ consents: SEED })
    const temporary = await h.canCall(U.temporary)
    expect(temporary.body.consent).toEqual({
      response: 'accept',
      is_permanent: false,
      response_source: 'user_action',
      can_perform_action: true,
      expires_at: new Date(T0 + 7 * DAY_MS).toISOString(),
    })
    expect((await h.canCall(U.permanent)).body.consent).toMatchObject({
      is_permanent: true,
      expires_at: null,
    })
    expect((await h.canCall(U.none)).body.consent).toBeNull()
  })

  it('normalizes formatted numbers before asking Kaleyra', async () => {
    const h = await gates.start({ consents: SEED })
    const res = await h.canCall('+91 90000-00001', '', '(+91) 8000.000.001')
    expect(res.body).toMatchObject({ allowed: true, business: BUSINESS, user: U.temporary })
    expect(h.sim.requests[0]?.user).toEqual([U.temporary])
  })

  it('gives every answer its own decision_id', async () => {
    const h = await gates.start({ consents: SEED })
    const ids = new Set<string>()
    for (let i = 0; i < 5; i++) ids.add((await h.canCall(U.temporary)).body.decision_id)
    expect(ids.size).toBe(5)
  })

  it('picks the exact pair from answers that carry other pairs, spaced numbers, in another order', async () => {
    const { createKaleyraSimulator } = await import('../../src/simulator/simulator.js')
    const sim = createKaleyraSimulator({
      consents: SEED,
      numberFormat: 'spaced',
      order: 'reversed',
      includeUnrelated: true,
    })
    const h = await gates.start({ sim })
    expect((await h.canCall(U.rejected)).body.reason).toBe('consent_rejected')
    expect((await h.canCall(U.temporary)).body.reason).toBe('consent_granted')
    expect((await h.canCall(U.none)).body.reason).toBe('no_consent')
  })

  it('accepts expiration_time_stamp, the other spelling on the API page', async () => {
    const h = await gates.start({
      consents: [grant(U.temporary, { expiryField: 'expiration_time_stamp', expiresAt: T0 - 1000 })],
    })
    expect((await h.canCall(U.temporary)).body.reason).toBe('consent_expired')
  })
})

describe('GET /can-call cache', () => {
  it('serves the second check from the cache without asking Kaleyra', async () => {
    const h = await gates.start({ consents: SEED })
    await h.canCall(U.temporary)
    const second = await h.canCall(U.temporary)
    expect(second.body).toMatchObject({
      allowed: true,
      source: 'cache',
      checked_at: new Date(T0).toISOString(),
    })
    expect(h.sim.requests).toHaveLength(1)
  })

  it('trusts an allow no longer than CACHE_MAX_TTL_SECONDS', async () => {
    const h = await gates.start({ consents: SEED, env: { CACHE_MAX_TTL_SECONDS: '300' } })
    await h.canCall(U.temporary)
    h.clock.advance(299_999)
    expect((await h.canCall(U.temporary)).body.source).toBe('cache')
    h.clock.advance(1)
    expect((await h.canCall(U.temporary)).body.source).toBe('upstream')
    expect(h.sim.requests).toHaveLength(2)
  })

  it('never serves an allow past the consent expires_at, even under a longer cap', async () => {
    const h = await gates.start({
      consents: [grant(U.temporary, { expiresAt: T0 + 60_000 })],
      env: { CACHE_MAX_TTL_SECONDS: '3600' },
    })
    expect((await h.canCall(U.temporary)).body.allowed).toBe(true)
    h.clock.advance(59_999)
    expect((await h.canCall(U.temporary)).body).toMatchObject({ allowed: true, source: 'cache' })
    h.clock.advance(1)
    const after = await h.canCall(U.temporary)
    expect(after.body).toMatchObject({ allowed: false, reason: 'consent_expired', source: 'upstream' })
  })

  it('remembers a deny for CACHE_NEGATIVE_TTL_SECONDS', async () => {
    const h = await gates.start({ consents: SEED, env: { CACHE_NEGATIVE_TTL_SECONDS: '30' } })
    await h.canCall(U.rejected)
    h.clock.advance(29_999)
    expect((await h.canCall(U.rejected)).body).toMatchObject({ reason: 'consent_rejected', source: 'cache' })
    h.clock.advance(1)
    expect((await h.canCall(U.rejected)).body.source).toBe('upstream')
    expect(h.sim.requests).toHaveLength(2)
  })

  it('skips the cache with fresh=true and refreshes it with the answer', async () => {
    const h = await gates.start({ consents: SEED })
    await h.canCall(U.temporary)
    h.sim.upsert(reject(U.temporary, WEEK))
    const fresh = await h.canCall(U.temporary, '&fresh=true')
    expect(fresh.body).toMatchObject({ allowed: false, reason: 'consent_rejected', source: 'upstream' })
    expect((await h.canCall(U.temporary)).body).toMatchObject({ reason: 'consent_rejected', source: 'cache' })
    expect(h.sim.requests).toHaveLength(2)
  })

  it('shares one upstream request among 200 concurrent checks of one cold pair', async () => {
    const h = await gates.start({ consents: SEED })
    h.sim.setFault({ kind: 'latency', ms: 100 })
    const answers = await Promise.all(Array.from({ length: 200 }, () => h.canCall(U.temporary)))
    expect(h.sim.requests).toHaveLength(1)
    expect(answers.every((a) => a.status === 200 && a.body.allowed === true)).toBe(true)
    expect(new Set(answers.map((a) => a.body.decision_id)).size).toBe(200)
  })

  it('does not cache upstream errors', async () => {
    const h = await gates.start({ consents: SEED, env: { UPSTREAM_RETRIES: '0' } })
    h.sim.setFault({ kind: 'status', status: 500 }, 1)
    expect((await h.canCall(U.temporary)).status).toBe(503)
    const next = await h.canCall(U.temporary)
    expect(next.body).toMatchObject({ allowed: true, source: 'upstream' })
    expect(h.sim.requests).toHaveLength(2)
  })
})
