import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERRORS } from '../../src/lib/errors.js'
import { expectContract } from '../helpers/contract.js'
import { BUSINESS, grant, startHarness, type Harness } from '../helpers/gate.js'
import { REPLY_USERS, hostileReply } from '../helpers/hostile-replies.js'
import { SECRETS, USER, hostileRequest, type HostileRequest } from '../helpers/hostile-requests.js'
import { sign } from '../helpers/webhooks.js'

/** Fixed, so a failure replays; fast-check prints it with the counterexample and its shrink path. */
const SEED = 20_251_125
const REASONS = Object.keys(ERRORS)

/** Two gates with every surface configured: 0 without caller tokens, 1 with GATE_API_TOKENS. */
const gates: Harness[] = []

beforeAll(async () => {
  const { GATE_API_TOKENS, ...surfaces } = SECRETS
  const consents = [USER, ...REPLY_USERS].map((user) => grant(user))
  // Warn, not debug: thousands of requests would otherwise spend the time budget writing log lines. No shedding:
  // a busy machine's 503 overloaded is an answer this test allows, but should not be what decides a run.
  const start = (env: Record<string, string>) =>
    startHarness({
      consents,
      env: { ...surfaces, SHED_MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
      logLevel: 'warn',
    })
  gates.push(await start({}), await start({ GATE_API_TOKENS }))
})

afterAll(async () => {
  await Promise.all(gates.map((g) => g.close()))
})

type Answer = { status: number; json: boolean; body: unknown }

async function send(gate: Harness, req: Omit<HostileRequest, 'gate' | 'signature'>): Promise<Answer> {
  const res = await request(`${gate.url}${req.path}`, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  })
  const text = await res.body.text()
  const json = String(res.headers['content-type']).includes('application/json') && text !== ''
  return { status: res.statusCode, json, body: json ? JSON.parse(text) : text }
}

/** X-Hub-Signature-256 as the request asks for it, over the exact bytes sent (or one more). */
function signed(req: HostileRequest): Record<string, string> {
  if (req.signature === 'none') return req.headers
  const bytes = Buffer.from(req.body ?? '')
  const signedBytes = req.signature === 'wrong' ? Buffer.concat([bytes, Buffer.from(' ')]) : bytes
  const hmac = createHmac('sha256', SECRETS.META_APP_SECRET).update(signedBytes).digest('hex')
  const header = req.signature === 'malformed' ? 'sha256=zz' : `sha256=${hmac}`
  return { ...req.headers, 'x-hub-signature-256': header }
}

/** What every answer must be, whatever was asked. */
function expectSafe(method: string, path: string, res: Answer) {
  const label = `${method} ${path.slice(0, 200)} -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`
  expect(res.status >= 500 && res.status !== 503, `no 5xx but 503: ${label}`).toBe(false)
  if (method === 'HEAD' || res.status < 400) return
  const pathname = path.split('?')[0]
  // Documented exceptions: the handshake refuses in plain text, as Meta reads it; /readyz has its own body.
  if (pathname === '/webhooks/meta' && method === 'GET' && res.status === 403) return
  if (pathname === '/readyz' && res.status === 503) return
  expect(res.json, `a JSON error body: ${label}`).toBe(true)
  expect(res.body, label).toMatchObject({ allowed: false, message: expect.any(String) })
  expect(REASONS, label).toContain((res.body as { reason: string }).reason)
}

function expectChecksContract(method: string, path: string, res: Answer) {
  const pathname = path.split('?')[0]
  if (method === 'GET' && pathname === '/can-call') expectContract('can-call', res.status, res.body)
  if (method === 'POST' && pathname === '/can-call/batch') expectContract('batch', res.status, res.body)
}

describe('hostile input', () => {
  it('on any route: no 5xx but 503, every error is the envelope, checks keep their contract', async () => {
    const statuses = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(hostileRequest, async (req) => {
        const res = await send(gates[req.gate] ?? gates[0]!, { ...req, headers: signed(req) })
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
        expectSafe(req.method, req.path, res)
        expectChecksContract(req.method, req.path, res)
      }),
      { seed: SEED, numRuns: 2000 },
    )
    // Every kind of answer was reached, so the runs above tested more than the door.
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([200, 400, 401, 404, 413, 415, 431]))
    expect(statuses.get(200)).toBeGreaterThan(200)
  }, 60_000)

  it('in a permission reply, applied or refused: every later check of the pair still answers', async () => {
    const gate = gates[0]!
    const applied = { count: 0 }
    await fc.assert(
      fc.asyncProperty(hostileReply, async ({ via, user, raw }) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' }
        if (via === 'kaleyra') headers.authorization = `Bearer ${SECRETS.WEBHOOK_BEARER_TOKEN}`
        else headers['x-hub-signature-256'] = sign(raw, SECRETS.META_APP_SECRET)
        const path = `/webhooks/${via}`
        const delivered = await send(gate, { method: 'POST', path, headers, body: raw })
        expectSafe('POST', path, delivered)
        // Right credentials and JSON: a delivery is either read or refused as unreadable, nothing else.
        expect([200, 400]).toContain(delivered.status)
        if (delivered.status === 200) applied.count++
        const check = `/can-call?business=${encodeURIComponent(BUSINESS)}&user=${encodeURIComponent(user)}`
        const res = await send(gate, { method: 'GET', path: check, headers: {}, body: undefined })
        expectSafe('GET', check, res)
        expectChecksContract('GET', check, res)
        expect([200, 503]).toContain(res.status)
      }),
      { seed: SEED, numRuns: 400 },
    )
    // Some replies got through, so the checks after them read what the webhooks stored.
    expect(applied.count).toBeGreaterThan(20)
  }, 60_000)
})
