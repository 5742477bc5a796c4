import { describe, expect, it } from 'vitest'
import { T0, grant, reject, useGates } from '../helpers/gate.js'

const GRANTED = '+919000000001'
const SHORT = '+919000000002'
const REJECTED = '+919000000003'
const CONSENTS = [
  grant(GRANTED, { is_permanent: true, expiresAt: null }),
  grant(SHORT, { expiresAt: T0 + 45_000 }),
  reject(REJECTED, { expiresAt: null }),
]
const ENV = { CACHE_MAX_TTL_SECONDS: '30', CACHE_NEGATIVE_TTL_SECONDS: '30', UPSTREAM_RETRIES: '0' }

const gates = useGates()

describe('stale-if-error', () => {
  it('is off by default: past its TTL an entry never answers for a failing Kaleyra', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    await h.canCall(GRANTED)
    h.clock.advance(30_000)
    h.sim.setFault({ kind: 'status', status: 500 })
    expect((await h.canCall(GRANTED)).status).toBe(503)
  })

  it('answers with source "stale" within CACHE_STALE_IF_ERROR_SECONDS past the TTL, and not after', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { ...ENV, CACHE_STALE_IF_ERROR_SECONDS: '60' } })
    const first = await h.canCall(GRANTED)
    h.clock.advance(30_000)
    h.sim.setFault({ kind: 'status', status: 500 })
    const stale = await h.canCall(GRANTED)
    expect(stale.body).toMatchObject({ allowed: true, source: 'stale', checked_at: first.body.checked_at })
    expect(stale.body.decision_id).not.toBe(first.body.decision_id)
    h.clock.advance(59_999)
    expect((await h.canCall(GRANTED)).body.source).toBe('stale')
    h.clock.advance(1)
    expect((await h.canCall(GRANTED)).status).toBe(503)
  })

  it('asks Kaleyra first: a stale entry is only the fallback', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { ...ENV, CACHE_STALE_IF_ERROR_SECONDS: '60' } })
    await h.canCall(GRANTED)
    h.clock.advance(30_000)
    expect((await h.canCall(GRANTED)).body.source).toBe('upstream')
    expect(h.sim.requests).toHaveLength(2)
  })

  it('never serves an allow past the consent expires_at', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { ...ENV, CACHE_STALE_IF_ERROR_SECONDS: '600' } })
    await h.canCall(SHORT)
    h.sim.setFault({ kind: 'status', status: 500 })
    h.clock.advance(44_999)
    expect((await h.canCall(SHORT)).body).toMatchObject({ allowed: true, source: 'stale' })
    h.clock.advance(1)
    expect((await h.canCall(SHORT)).status).toBe(503)
  })

  it('serves a stale deny too, and counts stale answers in a metric', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { ...ENV, CACHE_STALE_IF_ERROR_SECONDS: '60' } })
    await h.canCall(REJECTED)
    h.clock.advance(31_000)
    h.sim.setFault({ kind: 'reset' })
    expect((await h.canCall(REJECTED)).body).toMatchObject({
      allowed: false,
      reason: 'consent_rejected',
      source: 'stale',
    })
    await h.get('/healthz')
    expect((await h.get('/metrics')).body).toContain(
      'consent_gate_decisions_total{reason="consent_rejected",source="stale"} 1',
    )
  })
})
