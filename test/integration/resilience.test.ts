import { describe, expect, it } from 'vitest'
import { grant, useGates } from '../helpers/gate.js'

const user = (i: number) => `+91900000${String(i).padStart(4, '0')}`
const CONSENTS = Array.from({ length: 20 }, (_, i) => grant(user(i)))

const gates = useGates()

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const value = await fn()
  return [value, performance.now() - started]
}

describe('retries', () => {
  it('retries 5xx and answers once Kaleyra recovers', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { UPSTREAM_RETRIES: '2' } })
    h.sim.setFault({ kind: 'status', status: 502 }, 2)
    const res = await h.canCall(user(0))
    expect(res.body).toMatchObject({ allowed: true, source: 'upstream' })
    expect(h.sim.requests).toHaveLength(3)
  })

  it('retries a connection reset', async () => {
    const h = await gates.start({ consents: CONSENTS })
    h.sim.setFault({ kind: 'reset' }, 1)
    expect((await h.canCall(user(0))).status).toBe(200)
    expect(h.sim.requests).toHaveLength(2)
  })

  it('gives up after UPSTREAM_RETRIES and fails closed', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { UPSTREAM_RETRIES: '1' } })
    h.sim.setFault({ kind: 'status', status: 500 })
    expect((await h.canCall(user(0))).status).toBe(503)
    expect(h.sim.requests).toHaveLength(2)
  })

  it('never retries RBC001, a timeout or a malformed body', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { UPSTREAM_RETRIES: '2' } })
    for (const [i, fault] of [
      { kind: 'status', status: 401 },
      { kind: 'hang' },
      { kind: 'malformed' },
    ].entries()) {
      h.sim.resetRequests()
      h.sim.setFault(fault as never, 1)
      expect((await h.canCall(user(i))).status).toBe(503)
      expect(h.sim.requests).toHaveLength(1)
    }
  })

  it('honours Retry-After on 429 before retrying', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { CHECK_DEADLINE_MS: '3000' } })
    h.sim.setFault({ kind: 'status', status: 429, retryAfter: '1' }, 1)
    const [res, ms] = await timed(() => h.canCall(user(0)))
    expect(res.body).toMatchObject({ allowed: true })
    expect(h.sim.requests).toHaveLength(2)
    expect(ms).toBeGreaterThanOrEqual(990)
  })

  it('does not wait for a Retry-After longer than the deadline: fails at once and passes it on', async () => {
    const h = await gates.start({ consents: CONSENTS, env: { CHECK_DEADLINE_MS: '2000' } })
    h.sim.setFault({ kind: 'status', status: 429, retryAfter: '30' })
    const [res, ms] = await timed(() => h.canCall(user(0)))
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('30')
    expect(h.sim.requests).toHaveLength(1)
    expect(ms).toBeLessThan(500)
  })
})

describe('the per-check deadline', () => {
  it('answers within CHECK_DEADLINE_MS whatever Kaleyra does', async () => {
    const h = await gates.start({
      consents: CONSENTS,
      env: { UPSTREAM_TIMEOUT_MS: '2000', CHECK_DEADLINE_MS: '300' },
    })
    h.sim.setFault({ kind: 'hang' })
    const [res, ms] = await timed(() => h.canCall(user(0)))
    expect(res.status).toBe(503)
    expect(res.body.reason).toBe('upstream_unavailable')
    expect(ms).toBeLessThan(800)
  })

  it('bounds retries and their backoff by the deadline too', async () => {
    const h = await gates.start({
      consents: CONSENTS,
      env: { UPSTREAM_RETRIES: '5', CHECK_DEADLINE_MS: '400' },
    })
    h.sim.setFault({ kind: 'status', status: 500 })
    const [res, ms] = await timed(() => h.canCall(user(0)))
    expect(res.status).toBe(503)
    expect(ms).toBeLessThan(900)
  })
})

describe('circuit breaker', () => {
  const env = { UPSTREAM_RETRIES: '0', BREAKER_FAILURE_THRESHOLD: '3', BREAKER_OPEN_MS: '10000' }

  it('opens after sustained failure, answers at once with Retry-After, and recovers through a probe', async () => {
    const h = await gates.start({ consents: CONSENTS, env })
    await h.canCall(user(19)) // cached before the trouble
    h.sim.setFault({ kind: 'status', status: 500 })
    for (let i = 0; i < 3; i++) expect((await h.canCall(user(i))).status).toBe(503)
    expect(h.sim.requests).toHaveLength(4)

    const [open, ms] = await timed(() => h.canCall(user(5)))
    expect(open.status).toBe(503)
    expect(open.body.reason).toBe('upstream_unavailable')
    expect(open.headers['retry-after']).toBe('10')
    expect(ms).toBeLessThan(100)
    expect(h.sim.requests).toHaveLength(4)
    expect(await h.get('/readyz')).toMatchObject({ status: 200, body: { upstream: { circuit: 'open' } } })
    expect((await h.canCall(user(19))).body).toMatchObject({ allowed: true, source: 'cache' })
    expect((await h.get('/metrics')).body).toContain('consent_gate_upstream_circuit_state{state="open"} 1')

    h.clock.advance(4000)
    expect((await h.canCall(user(5))).headers['retry-after']).toBe('6')
    h.clock.advance(6000)
    h.sim.clearFault()
    expect((await h.canCall(user(6))).body).toMatchObject({ allowed: true, source: 'upstream' })
    expect((await h.get('/readyz')).body.upstream.circuit).toBe('closed')
  })

  it('re-opens when the half-open probe fails', async () => {
    const h = await gates.start({ consents: CONSENTS, env })
    h.sim.setFault({ kind: 'status', status: 500 })
    for (let i = 0; i < 3; i++) await h.canCall(user(i))
    h.clock.advance(10_000)
    expect((await h.canCall(user(3))).status).toBe(503) // the probe
    expect(h.sim.requests).toHaveLength(4)
    const after = await h.canCall(user(4))
    expect(after.headers['retry-after']).toBe('10')
    expect(h.sim.requests).toHaveLength(4)
  })
})

describe('upstream budget', () => {
  it('answers 503 at once when misses overflow the in-flight slots and the queue', async () => {
    const h = await gates.start({
      consents: CONSENTS,
      env: {
        UPSTREAM_MAX_INFLIGHT: '1',
        UPSTREAM_MAX_QUEUE: '1',
        BATCH_WINDOW_MS: '0',
        CHECK_DEADLINE_MS: '3000',
      },
    })
    h.sim.setFault({ kind: 'latency', ms: 300 })
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => timed(() => h.canCall(user(i)))))
    const rejected = results.filter(([r]) => r.status === 503)
    expect(rejected.length).toBeGreaterThanOrEqual(4)
    for (const [r, ms] of rejected) {
      expect(r.body.reason).toBe('upstream_unavailable')
      expect(ms).toBeLessThan(150)
    }
    expect(results.filter(([r]) => r.status === 200)).toHaveLength(6 - rejected.length)
  })

  it('paces upstream requests to UPSTREAM_MAX_RPS', async () => {
    const h = await gates.start({
      consents: CONSENTS,
      env: { UPSTREAM_MAX_RPS: '2', BATCH_WINDOW_MS: '0', CHECK_DEADLINE_MS: '5000' },
    })
    const [answers, ms] = await timed(() => Promise.all([0, 1, 2, 3].map((i) => h.canCall(user(i)))))
    expect(answers.every((a) => a.status === 200)).toBe(true)
    // A burst of 2, then one every 500 ms.
    expect(ms).toBeGreaterThanOrEqual(900)
  })
})
