import { afterEach, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { BUSINESS, grant, startHarness, type Harness } from '../helpers/gate.js'

const USER = '+919876543210'
const CONSENTS = [grant(USER)]

let h: Harness
afterEach(async () => h?.close())

const decisionLines = () =>
  h.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'decision')

/** onResponse runs after the answer reaches the client; give it a turn of the event loop. */
const settle = () => new Promise((r) => setTimeout(r, 20))

describe('decision log', () => {
  it('writes one info line per decision, with the user masked to its last 4 digits', async () => {
    h = await startHarness({ consents: CONSENTS, logLevel: 'info' })
    const first = await h.canCall(USER)
    const second = await h.canCall(USER)
    await settle()
    const lines = decisionLines()
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

  it('logs full user numbers with LOG_USER_NUMBERS=full', async () => {
    h = await startHarness({ consents: CONSENTS, logLevel: 'info', env: { LOG_USER_NUMBERS: 'full' } })
    await h.canCall(USER)
    await settle()
    expect(decisionLines()[0]).toMatchObject({ user: USER })
  })

  it('logs 400 and 503 answers too, with their reason', async () => {
    h = await startHarness({ consents: CONSENTS, logLevel: 'info', env: { UPSTREAM_RETRIES: '0' } })
    await h.get('/can-call?business=nope&user=%2B919876543210')
    h.sim.setFault({ kind: 'status', status: 502 }, 1)
    const failed = await h.canCall(USER)
    await settle()
    const lines = decisionLines()
    expect(lines.map((l) => l.reason)).toEqual(['invalid_request', 'upstream_unavailable'])
    expect(lines[1]).toMatchObject({ decision_id: failed.body.decision_id, allowed: false, user: '***3210' })
  })

  it('logs and counts answers of the check routes only, not a refused call outcome or an unknown path', async () => {
    h = await startHarness({ consents: CONSENTS, logLevel: 'info' })
    const refused = await request(`${h.url}/call-outcomes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(refused.statusCode).toBe(400)
    await refused.body.dump()
    expect((await h.get('/no-such-route')).status).toBe(404)
    await h.canCall(USER)
    await settle()
    expect(decisionLines().map((l) => l.reason)).toEqual(['consent_granted'])
    const metrics = (await h.get('/metrics')).body as string
    expect(metrics).not.toMatch(/consent_gate_decisions_total\{reason="invalid_request"/)
    expect(metrics).toMatch(/consent_gate_decisions_total\{reason="consent_granted",source="upstream"\} 1/)
  })

  it('names the request id on a failed check at info, and binds it to every request line at debug', async () => {
    h = await startHarness({ consents: CONSENTS, logLevel: 'info', env: { UPSTREAM_RETRIES: '0' } })
    h.sim.setFault({ kind: 'status', status: 502 }, 1)
    const failed = await h.canCall(USER)
    const parsed = () => h.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    const warn = parsed().find((l) => l.msg === 'check failed closed')
    expect(warn).toMatchObject({ decision_id: failed.body.decision_id, reqId: expect.any(String) })
    await h.close()

    h = await startHarness({ consents: CONSENTS, logLevel: 'debug' })
    await h.canCall(USER)
    await settle()
    const requestLines = parsed().filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')
    expect(requestLines).toHaveLength(2)
    expect(requestLines[0]?.reqId).toEqual(expect.any(String))
    expect(requestLines[1]?.reqId).toBe(requestLines[0]?.reqId)
  })
})

describe('privacy of a full run at debug', () => {
  it('never logs the Kaleyra key, a caller token or an unmasked user number', async () => {
    const token = 'caller-token-0123456789abcdef'
    h = await startHarness({ consents: CONSENTS, logLevel: 'trace', env: { GATE_API_TOKENS: token } })
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
    await settle()
    const text = h.logs.text()
    expect(h.logs.lines.length).toBeGreaterThan(10)
    expect(text).toContain('"level":20')
    expect(text).not.toContain(h.sim.apiKey)
    expect(text).not.toContain(token)
    expect(text).not.toContain('9876543210')
    expect(text).not.toContain('authorization')
  })
})
