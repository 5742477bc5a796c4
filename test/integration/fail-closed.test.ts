import { describe, expect, it } from 'vitest'
import { createKaleyraSimulator, type SimFault } from '../../src/simulator/simulator.js'
import { BUSINESS, grant, useGates } from '../helpers/gate.js'

const USER = '+919000000001'
const GRANTED = [grant(USER)]

const gates = useGates()

describe('GET /can-call when Kaleyra cannot answer', () => {
  it.each<[string, SimFault]>([
    ['HTTP 500', { kind: 'status', status: 500 }],
    ['HTTP 502', { kind: 'status', status: 502 }],
    ['a body that is not JSON', { kind: 'malformed' }],
    ['a code other than WA200', { kind: 'code', code: 'WA500' }],
    ['a record with wrong types', { kind: 'wrong_types' }],
    ['a connection reset', { kind: 'reset' }],
    ['a hang past the timeout', { kind: 'hang' }],
  ])('fails closed with 503 upstream_unavailable on %s', async (_name, fault) => {
    const h = await gates.start({ consents: GRANTED })
    h.sim.setFault(fault)
    const started = performance.now()
    const res = await h.canCall(USER)
    // UPSTREAM_TIMEOUT_MS is 300 in the harness: one check ends within about 2 x that.
    expect(performance.now() - started).toBeLessThan(1500)
    expect(res.status).toBe(503)
    expect(res.body).toMatchObject({ allowed: false, reason: 'upstream_unavailable' })
    expect(res.body.message).toEqual(expect.any(String))
    expect(res.body.decision_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  })

  it('passes Kaleyra Retry-After on when rate-limited', async () => {
    const h = await gates.start({ consents: GRANTED })
    h.sim.setFault({ kind: 'status', status: 429, retryAfter: '7' })
    const res = await h.canCall(USER)
    expect(res.status).toBe(503)
    expect(res.body.reason).toBe('upstream_unavailable')
    expect(res.headers['retry-after']).toBe('7')
  })

  it('answers upstream_auth_failed on a wrong key and shows that key nowhere', async () => {
    const secret = 'AXXWRONGKEYSECRET0123456789'
    const sim = createKaleyraSimulator({ consents: GRANTED })
    const h = await gates.start({ sim, env: { KALEYRA_API_KEY: secret }, logLevel: 'trace' })
    const res = await h.canCall(USER)
    expect(res.status).toBe(503)
    expect(res.body).toMatchObject({ allowed: false, reason: 'upstream_auth_failed' })
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    expect(JSON.stringify(res)).not.toContain(secret)
    expect(h.logs.lines.length).toBeGreaterThan(0)
    expect(h.logs.text()).not.toContain(secret)
    expect(h.sim.requests[0]?.apiKeyOk).toBe(false)
  })

  it('never sends a bare + to Kaleyra', async () => {
    const h = await gates.start({ consents: GRANTED })
    expect((await h.canCall(USER)).body.allowed).toBe(true)
    expect(h.sim.requests[0]?.business).toEqual([BUSINESS])
  })
})

describe('GET /can-call with bad input', () => {
  const ok = encodeURIComponent(USER)
  it.each([
    ['letters in user', `business=${ok}&user=%2B91abc0000001`, 'user'],
    ['a comma list', `business=${ok}&user=${ok}%2C%2B919000000002`, 'user'],
    ['an ampersand', `business=${ok}%26x&user=${ok}`, 'business'],
    ['no +', `business=${ok}&user=919000000001`, 'user'],
    ['a bare + (decoded as a space)', `business=${ok}&user=+919000000001`, '%2B'],
    ['too short', `business=${ok}&user=%2B9190000`, 'user'],
    ['too long', `business=${ok}&user=%2B9190000000000000`, 'user'],
    ['an empty value', `business=&user=${ok}`, 'business'],
    ['a missing business', `user=${ok}`, 'business'],
    ['a missing user', `business=${ok}`, 'user'],
    ['a repeated user', `business=${ok}&user=${ok}&user=${ok}`, 'user'],
    ['fresh that is not a boolean', `business=${ok}&user=${ok}&fresh=maybe`, 'fresh'],
  ])('answers 400 invalid_request for %s and never asks Kaleyra', async (_name, query, named) => {
    const h = await gates.start({ consents: GRANTED })
    const res = await h.get(`/can-call?${query}`)
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ allowed: false, reason: 'invalid_request' })
    expect(res.body.message).toContain(named)
    expect(h.sim.requests).toHaveLength(0)
  })

  it('answers 404 in the same envelope for an unknown route', async () => {
    const h = await gates.start({ consents: GRANTED })
    const res = await h.get('/nope?user=%2B919000000001')
    expect(res.status).toBe(404)
    expect(res.body).toMatchObject({ allowed: false, reason: 'not_found' })
    expect(res.body.message).not.toContain('919000000001')
  })
})
