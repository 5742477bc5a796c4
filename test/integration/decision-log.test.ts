import { describe, expect, it } from 'vitest'
import { request } from 'undici'
import { BUSINESS, grant, useGates, type Harness } from '../helpers/gate.js'
import { waitFor } from '../helpers/wait.js'

const USER = '+919876543210'
const CONSENTS = [grant(USER)]

const gates = useGates()

const logLines = (h: Harness) => h.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
const decisionLines = (h: Harness) => logLines(h).filter((l) => l.msg === 'decision')
const count = (h: Harness, msg: string) => logLines(h).filter((l) => l.msg === msg).length

/** onResponse runs after the answer reaches the client: wait for the decision lines it writes. */
const decisionsLogged = (h: Harness, n: number) => waitFor(() => decisionLines(h).length >= n, 2000)
/** At debug and below: wait until every request the gate took in has logged its completion. */
const requestsLogged = (h: Harness) =>
  waitFor(() => count(h, 'request completed') === count(h, 'incoming request'), 2000)

describe('decision log', () => {
  it('writes one info line per decision, with the user masked to its last 4 digits', async () => {
    const h = await gates.start({ consents: CONSENTS, logLevel: 'info' })
    const first = await h.canCall(USER)
    const second = await h.canCall(USER)
    await decisionsLogged(h, 2)
    const lines = decisionLines(h)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({
      level: 30,
      decision_id: first.body.decision_id,
      allowed: true,
      reason: 'consent_granted',
      source: 'upstream',
      business: BUSINESS,
      user: '***3210',
    })
    expect(lines[0]?.upstream_ms).toEqual(expect.any(Number))
    expect(lines[1]).toMatchObject({ decision_id: second.body.decision_id, source: 'cache' })
    expect(lines[1]).not.toHaveProperty('upstream_ms')
    expect(h.logs.text()).not.toContain('9876543210')
  })

  it('answers, logs and counts a hit alike whether the pair is asked as kept or written to be normalized', async () => {
    // The two take different paths through the route: a pair as the gate keeps it is answered from the decision
    // without building a body (routes/can-call.ts), anything else is parsed first.
    const h = await gates.start({ consents: CONSENTS, logLevel: 'info' })
    await h.canCall(USER)
    const kept = await h.canCall(USER)
    const written = await h.canCall('+91 98765-43210', '', `(${BUSINESS.slice(0, 3)}) ${BUSINESS.slice(3)}`)
    await decisionsLogged(h, 3)
    const withoutId = (o: Record<string, unknown>) => JSON.stringify({ ...o, decision_id: 'x', time: 0 })
    expect(kept.body.source).toBe('cache')
    expect(withoutId(written.body)).toBe(withoutId(kept.body))
    expect(written.body.decision_id).not.toBe(kept.body.decision_id)
    const [, keptLine, writtenLine] = decisionLines(h)
    expect(keptLine).toMatchObject({ decision_id: kept.body.decision_id, source: 'cache', user: '***3210' })
    expect(withoutId(writtenLine ?? {})).toBe(withoutId(keptLine ?? {}))
    const metrics = (await h.get('/metrics')).body as string
    expect(metrics).toMatch(/consent_gate_decisions_total\{reason="consent_granted",source="cache"\} 2/)
    expect(metrics).toMatch(/consent_gate_cache_lookups_total\{result="hit"\} 2/)
  })

  it('logs full user numbers with LOG_USER_NUMBERS=full', async () => {
    const h = await gates.start({ consents: CONSENTS, logLevel: 'info', env: { LOG_USER_NUMBERS: 'full' } })
    await h.canCall(USER)
    await decisionsLogged(h, 1)
    expect(decisionLines(h)[0]).toMatchObject({ user: USER })
  })

  it('logs 400 and 503 answers too, with their reason', async () => {
    const h = await gates.start({ consents: CONSENTS, logLevel: 'info', env: { UPSTREAM_RETRIES: '0' } })
    await h.get('/can-call?business=nope&user=%2B919876543210')
    h.sim.setFault({ kind: 'status', status: 502 }, 1)
    const failed = await h.canCall(USER)
    await decisionsLogged(h, 2)
    const lines = decisionLines(h)
    expect(lines.map((l) => l.reason)).toEqual(['invalid_request', 'upstream_unavailable'])
    expect(lines[1]).toMatchObject({ decision_id: failed.body.decision_id, allowed: false, user: '***3210' })
  })

  it('logs and counts answers of the check routes only, not a refused call outcome or an unknown path', async () => {
    const h = await gates.start({ consents: CONSENTS, logLevel: 'info' })
    const refused = await request(`${h.url}/call-outcomes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(refused.statusCode).toBe(400)
    await refused.body.dump()
    expect((await h.get('/no-such-route')).status).toBe(404)
    await h.canCall(USER)
    await decisionsLogged(h, 1)
    expect(decisionLines(h).map((l) => l.reason)).toEqual(['consent_granted'])
    const metrics = (await h.get('/metrics')).body as string
    expect(metrics).not.toMatch(/consent_gate_decisions_total\{reason="invalid_request"/)
    expect(metrics).toMatch(/consent_gate_decisions_total\{reason="consent_granted",source="upstream"\} 1/)
  })

  it('names the request id on a failed check at info, and binds it to every request line at debug', async () => {
    let h = await gates.start({ consents: CONSENTS, logLevel: 'info', env: { UPSTREAM_RETRIES: '0' } })
    h.sim.setFault({ kind: 'status', status: 502 }, 1)
    const failed = await h.canCall(USER)
    const parsed = () => h.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    const warn = parsed().find((l) => l.msg === 'check failed closed')
    expect(warn).toMatchObject({ decision_id: failed.body.decision_id, reqId: expect.any(String) })
    await h.close()

    h = await gates.start({ consents: CONSENTS, logLevel: 'debug' })
    await h.canCall(USER)
    await requestsLogged(h)
    const requestLines = parsed().filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')
    expect(requestLines).toHaveLength(2)
    expect(requestLines[0]?.reqId).toEqual(expect.any(String))
    expect(requestLines[1]?.reqId).toBe(requestLines[0]?.reqId)
  })
})

describe('privacy of a full run at debug', () => {
  it('never logs the Kaleyra key, a caller token or an unmasked user number', async () => {
    const token = 'caller-token-0123456789abcdef'
    const h = await gates.start({ consents: CONSENTS, logLevel: 'trace', env: { GATE_API_TOKENS: token } })
    const auth = { authorization: `Bearer ${token}` }
    const q = `/can-call?business=${encodeURIComponent(BUSINESS)}&user=${encodeURIComponent(USER)}`
    await h.get(q, auth)
    await h.get(q, auth)
    await h.get(`${q}&fresh=true`, auth)
    await h.get(q, { authorization: 'Bearer wrong-token-0123456789' })
    await h.get(`/can-call?business=${encodeURIComponent(BUSINESS)}&user=%2B9198765abc`, auth)
    h.sim.setFault({ kind: 'status', status: 401 }, 1)
    await h.get(`${q}&fresh=true`, auth)
    h.sim.setFault({ kind: 'reset' }, 1)
    await h.get(`${q}&fresh=true`, auth)
    await h.get('/metrics')
    await requestsLogged(h)
    const text = h.logs.text()
    expect(h.logs.lines.length).toBeGreaterThan(10)
    expect(text).toContain('"level":20')
    expect(text).not.toContain(h.sim.apiKey)
    expect(text).not.toContain(token)
    expect(text).not.toContain('9876543210')
    expect(text).not.toContain('authorization')
  })
})
