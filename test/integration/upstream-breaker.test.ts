import { describe, expect, it } from 'vitest'
import { grant, useGates } from '../helpers/gate.js'

/**
 * Only a refusal about one request (Meta's invalid parameter, code 100) keeps the circuit closed (guard.ts,
 * aboutOneRequest): a 4xx that refuses every request alike opens it, for both upstreams.
 */

const user = (i: number) => `+91900000${String(i).padStart(4, '0')}`
const CONSENTS = Array.from({ length: 5 }, (_, i) => grant(user(i)))
const env = { UPSTREAM_RETRIES: '0', BREAKER_FAILURE_THRESHOLD: '3', BREAKER_OPEN_MS: '10000' }

const gates = useGates()

describe('the circuit breaker against an upstream that refuses every request', () => {
  it('opens when Kaleyra answers 403 to every request (an account suspended, an address not allowed)', async () => {
    const h = await gates.start({ consents: CONSENTS, env })
    h.sim.setFault({ kind: 'status', status: 403 })
    for (let i = 0; i < 3; i++) expect((await h.canCall(user(i))).status).toBe(503)
    expect(h.sim.requests).toHaveLength(3)
    // Before issue 13 a 4xx counted against Kaleyra like a 5xx: the fourth check was answered without asking.
    expect((await h.canCall(user(3))).status).toBe(503)
    expect(h.sim.requests, 'requests sent with the circuit that should be open').toHaveLength(3)
    expect((await h.get('/readyz')).body.upstream.circuit).toBe('open')
  })

  it("opens when Graph refuses every request for the token's permissions (code 200, HTTP 403)", async () => {
    const h = await gates.start({ upstream: 'meta', consents: CONSENTS, env })
    h.sim.setFault({ kind: 'graph_error', code: 200, status: 403 })
    for (let i = 0; i < 3; i++) expect((await h.canCall(user(i))).status).toBe(503)
    expect((await h.canCall(user(3))).status).toBe(503)
    expect(
      h.sim.requests.filter((r) => r.api === 'meta'),
      'Graph requests',
    ).toHaveLength(3)
  })

  it('(control) opens when Kaleyra answers 500 to every request', async () => {
    const h = await gates.start({ consents: CONSENTS, env })
    h.sim.setFault({ kind: 'status', status: 500 })
    for (let i = 0; i < 3; i++) expect((await h.canCall(user(i))).status).toBe(503)
    expect((await h.canCall(user(3))).status).toBe(503)
    expect(h.sim.requests).toHaveLength(3)
  })
})
