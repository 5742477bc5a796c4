import { describe, expect, it } from 'vitest'
import { T0, grant, useGates, type Harness } from '../helpers/gate.js'
import { createKaleyraSimulator } from '../../src/simulator/simulator.js'

/** UPSTREAM=meta at its edges (discovery outages, clocks that differ), over real HTTP. */

const USER = '+919000000001'
const gates = useGates()
const graphRequests = (h: Harness) => h.sim.requests.filter((r) => r.api === 'meta')

describe('UPSTREAM=meta with META_WABA_ID discovery', () => {
  it('answers 503 (retry later), not 400 (bad input), while discovery has not succeeded', async () => {
    // Graph is down when the gate starts: the first discovery of the WABA's numbers fails.
    const sim = createKaleyraSimulator({ consents: [grant(USER)] })
    await sim.listen(0)
    sim.setFault({ kind: 'status', status: 503 }, 1000)
    const h = await gates.start({
      sim,
      upstream: 'meta',
      env: { META_PHONE_NUMBERS: '', META_WABA_ID: sim.wabaId, META_DISCOVERY_INTERVAL_SECONDS: '3600' },
    })
    sim.clearFault()
    const res = await h.canCall(USER)
    // A 400 is final for a dialer and for `consent-gate precheck` (invalid rows are never asked again on --resume),
    // yet the business is one of the WABA's: only Graph's outage stands between the gate and an answer.
    expect(res.body.reason).not.toBe('invalid_request')
    expect(res.status).toBe(503)
    expect(String((await h.get('/metrics')).body)).toMatch(/^consent_gate_meta_discovery_failures_total 1$/m)
  })

  it('(control) without the outage, the same gate discovers the business and answers', async () => {
    const sim = createKaleyraSimulator({ consents: [grant(USER)] })
    await sim.listen(0)
    const h = await gates.start({
      sim,
      upstream: 'meta',
      env: { META_PHONE_NUMBERS: '', META_WABA_ID: sim.wabaId, META_DISCOVERY_INTERVAL_SECONDS: '3600' },
    })
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: true })
  })
})

describe('retry_at', () => {
  it('is never before the answer it comes with, and the deny is still cached', async () => {
    // Meta's limit_expiration_time a few seconds behind the gate's clock (clock skew, or a limit that has just reset
    // while start_call is still not performable).
    const h = await gates.start({
      upstream: 'meta',
      consents: [
        grant(USER, {
          is_permanent: true,
          expiresAt: null,
          can_perform_action: false,
          startCallLimitResetsAt: T0 - 5000,
        }),
      ],
    })
    const first = await h.canCall(USER)
    expect(first.body).toMatchObject({ allowed: false, reason: 'action_not_permitted' })
    const retryAt = first.body.retry_at as string | null
    if (retryAt !== null)
      expect(Date.parse(retryAt)).toBeGreaterThanOrEqual(Date.parse(first.body.checked_at))
    // A deny that cannot be cached turns every check of the pair into a Graph request (Meta allows 100 a second).
    await h.canCall(USER)
    expect(graphRequests(h)).toHaveLength(1)
  })
})
