import fc from 'fast-check'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import type { App } from '../../src/http/app.js'
import { expectContract } from '../helpers/contract.js'
import {
  BUSINESS,
  grant,
  reject,
  startHarness,
  useGates,
  type Harness,
  type HarnessOptions,
} from '../helpers/gate.js'
import { rawGet, rawPipelined, startRequest, type RawResponse } from '../helpers/raw-http.js'
import { waitFor } from '../helpers/wait.js'

const GRANTED = '+919000000001'
const REJECTED = '+919000000002'
const NO_RECORD = '+919000000003'
const BSUID = 'IN.13491208655302741918'
const TOKEN = 'caller-token-0123456789'
/** Fixed, so a failure replays. */
const SEED = 20_261_128

const gates = useGates()
const enc = encodeURIComponent
const checkPath = (user: string, business = BUSINESS) =>
  `/can-call?business=${enc(business)}&user=${enc(user)}`

/** Counts the requests Fastify's hooks saw for /can-call: the door answers without them. */
function countFastify(counter: { n: number }) {
  return (gate: App) =>
    gate.addHook('onRequest', (req, _reply, done) => {
      if (req.url.startsWith('/can-call')) counter.n++
      done()
    })
}

/** A gate holding a grant of GRANTED, with a count of the checks Fastify saw. */
async function startCounted(opts: HarnessOptions = {}) {
  const fastify = { n: 0 }
  const h = await gates.start({ consents: [grant(GRANTED)], beforeListen: countFastify(fastify), ...opts })
  return { h, fastify }
}

/** The gate's answer through Fastify alone: inject() never reaches the server, so never the door. */
async function viaFastify(h: Harness, path: string): Promise<RawResponse> {
  const res = await h.gate.inject({ method: 'GET', url: path })
  const lines = Object.entries(res.headers).map(([k, v]) => `${k}: ${String(v)}`)
  return { status: res.statusCode, lines, headers: res.headers as Record<string, string>, body: res.json() }
}

const decisionLines = (h: Harness) =>
  h.logs.lines.filter((l) => l.includes('"msg":"decision"')).map((l) => JSON.parse(l))
const withoutId = ({ decision_id: _id, ...rest }: Record<string, unknown>) => rest
const withoutLineId = ({ decision_id: _id, time: _time, ...rest }: Record<string, unknown>) => rest

function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

describe('the front door (cache hits answered before Fastify)', () => {
  it('answers a cached check without Fastify: the same bytes, log line and metrics as the route', async () => {
    const { h, fastify } = await startCounted()
    // The miss goes to Fastify (and Kaleyra); the hit after it does not.
    expect((await h.canCall(GRANTED)).body.source).toBe('upstream')
    expect(fastify.n).toBe(1)
    const door = await rawGet(h, checkPath(GRANTED))
    expect(fastify.n).toBe(1)
    const route = await viaFastify(h, checkPath(GRANTED))
    expect(fastify.n).toBe(2)

    expect(door.status).toBe(200)
    expectContract('can-call', 200, door.body)
    expect(door.body).toMatchObject({
      allowed: true,
      reason: 'consent_granted',
      source: 'cache',
      user: GRANTED,
    })
    expect(withoutId(door.body)).toEqual(withoutId(route.body))
    expect(door.body.decision_id).not.toBe(route.body.decision_id)
    // The head Fastify writes for the route's answer, in its order; Node adds the rest to both.
    expect(door.lines.slice(0, 2)).toEqual([
      'content-type: application/json; charset=utf-8',
      `content-length: ${Buffer.byteLength(JSON.stringify(door.body))}`,
    ])
    expect(route.headers['content-type']).toBe(door.headers['content-type'])
    expect(route.headers['content-length']).toBe(door.headers['content-length'])
    expect(door.lines.map((l) => l.split(':')[0])).toEqual([
      'content-type',
      'content-length',
      'Date',
      'Connection',
    ])

    const [, doorLine, routeLine] = decisionLines(h)
    expect(doorLine).toMatchObject({ decision_id: door.body.decision_id, user: '***0001', source: 'cache' })
    expect(withoutLineId(doorLine)).toEqual(withoutLineId(routeLine))

    const text = (await h.get('/metrics')).body as string
    const route200 = 'route="/can-call",status_code="200"'
    expect(sample(text, 'consent_gate_http_request_duration_seconds_count', route200)).toBe(3)
    expect(sample(text, 'consent_gate_decisions_total', 'reason="consent_granted",source="cache"')).toBe(2)
    expect(sample(text, 'consent_gate_cache_lookups_total', 'result="hit"')).toBe(2)
  })

  it('answers as a gate without it would, for any request target, over a socket: status, body and log line', async () => {
    const fastify = { n: 0 }
    const consents = [grant(GRANTED), reject(REJECTED)]
    const env = { SHED_MAX_EVENT_LOOP_DELAY_MS: '0' }
    const h = await gates.start({ consents, env, beforeListen: countFastify(fastify) })
    // The reference: the same gate with every request going to Fastify.
    const plain = await gates.start({ consents, env, deps: { frontDoor: false } })
    // Every pair the targets name is settled first on both, so no answer depends on which one came first.
    for (const gate of [h, plain])
      for (const user of [GRANTED, REJECTED, NO_RECORD]) expect((await gate.canCall(user)).status).toBe(200)
    const plus = fc.constantFrom('%2B', '%2b', '+', '')
    const user = fc.constantFrom(
      GRANTED,
      REJECTED,
      NO_RECORD,
      BSUID,
      '+91 90000 00001',
      '9000000001',
      'x',
      '',
    )
    const business = fc.constantFrom(BUSINESS, '+91-8000000001', '+18000000001', '')
    const encoded = (v: string, p: string) => (v.startsWith('+') ? p + enc(v.slice(1)) : enc(v))
    const param = fc.oneof(
      fc
        .tuple(fc.constantFrom('business', 'user'), plus, fc.oneof(business, user))
        .map(([k, p, v]) => `${k}=${encoded(v, p)}`),
      fc.constantFrom(
        'priority=live',
        'fresh=false',
        'x=1',
        'user',
        'business=',
        '%zz=1',
        'user=%zz',
        'user=%2B%39%31',
        'us%65r=%2B919000000001',
        'user=%2B919000000001%00',
        'user=%2B919000000001%26x=1',
        'user=%2B91900%3D0000001',
        'user=%2B91%C3%A9',
        'user=%E2%82%AC',
        'user=IN.%31349',
      ),
    )
    const target = fc.oneof(
      { weight: 2, arbitrary: fc.array(param, { minLength: 1, maxLength: 3 }) },
      {
        weight: 4,
        arbitrary: fc.tuple(user, plus, fc.boolean()).map(([u, p, swap]) => {
          const b = `business=${enc(BUSINESS)}`
          const v = `user=${encoded(u, p)}`
          return swap ? [v, b] : [b, v]
        }),
      },
    )
    const suffix = fc.constantFrom('', '', '', '', '&', '#x', '%')
    const lastDecision = (gate: Harness) => {
      const line = gate.logs.lines.findLast((l) => l.includes('"msg":"decision"'))
      return line === undefined ? undefined : withoutLineId(JSON.parse(line))
    }
    let answeredByDoor = 0
    await fc.assert(
      fc.asyncProperty(target, suffix, async (params, end) => {
        const path = `/can-call?${params.join('&')}${end}`
        const seen = fastify.n
        const door = await rawGet(h, path)
        if (fastify.n === seen) answeredByDoor++
        const route = await rawGet(plain, path)
        expect(door.status).toBe(route.status)
        expect(withoutId(door.body)).toEqual(withoutId(route.body))
        expect(door.headers['content-type']).toBe(route.headers['content-type'])
        expect(door.headers['content-length']).toBe(route.headers['content-length'])
        expect(lastDecision(h)).toEqual(lastDecision(plain))
        expectContract('can-call', door.status, door.body)
      }),
      { seed: SEED, numRuns: 200 },
    )
    // The runs reached the door's answers, not only what it passes on.
    expect(answeredByDoor).toBeGreaterThan(10)
  }, 60_000)

  it('passes every check to Fastify while per-request lines are logged (LOG_LEVEL=debug)', async () => {
    const { h, fastify } = await startCounted({
      logLevel: 'debug',
    })
    await h.canCall(GRANTED)
    expect((await rawGet(h, checkPath(GRANTED))).body.source).toBe('cache')
    expect(fastify.n).toBe(2)
    expect(h.logs.lines.filter((l) => l.includes('"msg":"request completed"'))).toHaveLength(2)
  })

  it('keeps pipelined answers in order: hits it holds to the end of the loop turn around misses Fastify answers', async () => {
    const { h, fastify } = await startCounted({ consents: [grant(GRANTED), reject(REJECTED)] })
    for (const user of [GRANTED, REJECTED]) expect((await h.canCall(user)).body.source).toBe('upstream')
    const seen = fastify.n
    // Hit, miss (Kaleyra, later), hit, invalid (400 at once), hit: all read in one turn, answered in order.
    const users = [GRANTED, NO_RECORD, REJECTED, 'not-a-number', GRANTED]
    const answers = await rawPipelined(
      h,
      users.map((u) => checkPath(u)),
    )
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 400, 200])
    expect(answers.map((a) => a.body.user)).toEqual([GRANTED, NO_RECORD, REJECTED, undefined, GRANTED])
    expect(answers.map((a) => a.body.source)).toEqual(['cache', 'upstream', 'cache', undefined, 'cache'])
    expect(answers.map((a) => a.body.allowed)).toEqual([true, false, false, false, true])
    expect(new Set(answers.map((a) => a.body.decision_id)).size).toBe(5)
    // The miss and the invalid one went through Fastify; the three hits did not.
    expect(fastify.n - seen).toBe(2)
  })

  it('sends every answer it holds to its own caller: many connections in one turn', async () => {
    const { h, fastify } = await startCounted({ consents: [grant(GRANTED), reject(REJECTED)] })
    for (const user of [GRANTED, REJECTED]) await h.canCall(user)
    const seen = fastify.n
    const users = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? REJECTED : GRANTED))
    const answers = await Promise.all(users.map((u) => rawGet(h, checkPath(u))))
    expect(answers.map((a) => [a.status, a.body.user, a.body.allowed])).toEqual(
      users.map((u) => [200, u, u === GRANTED]),
    )
    expect(fastify.n).toBe(seen)
    await waitFor(() => decisionLines(h).length >= 62, 5000, 5)
  })

  it('lets Fastify refuse a caller without a token, and answers one with it', async () => {
    const { h, fastify } = await startCounted({
      env: { GATE_API_TOKENS: TOKEN },
    })
    const auth = { authorization: `Bearer ${TOKEN}` }
    expect((await h.get(checkPath(GRANTED), auth)).status).toBe(200)
    expect(fastify.n).toBe(1)
    expect((await rawGet(h, checkPath(GRANTED), auth)).status).toBe(200)
    expect(fastify.n).toBe(1)
    const refusals: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-0123456789' }]
    for (const headers of refusals) {
      const refused = await rawGet(h, checkPath(GRANTED), headers)
      expect(refused.status).toBe(401)
      expect(refused.body.reason).toBe('unauthorized')
    }
    expect(fastify.n).toBe(3)
  })

  it('leaves a HEAD, fresh=true and a check with a body (sized or chunked) to Fastify', async () => {
    const { h, fastify } = await startCounted()
    await h.canCall(GRANTED)
    expect((await fetch(`${h.url}${checkPath(GRANTED)}`, { method: 'HEAD' })).status).toBe(200)
    expect((await h.canCall(GRANTED, '&fresh=true')).body.source).toBe('upstream')
    const withBody = await rawGet(
      h,
      checkPath(GRANTED),
      { 'content-type': 'application/json', 'content-length': '2' },
      '{}',
    )
    expect(withBody.status).toBe(200)
    const chunked = await rawGet(h, checkPath(GRANTED), { 'transfer-encoding': 'chunked' }, '0\r\n\r\n')
    expect(chunked.status).toBe(200)
    expect(fastify.n).toBe(5)
  })

  it('stands aside while the gate shuts down: the check gets the draining envelope', async () => {
    const h = await startHarness({ consents: [grant(GRANTED)] })
    await h.canCall(GRANTED)
    const check = await startRequest(h, checkPath(GRANTED))
    const closed = h.gate.close()
    try {
      await waitFor(() => !h.gate.server.listening, 5000, 5)
      const refused = await check.finish()
      expect(refused.status).toBe(503)
      expect(refused.body).toMatchObject({ allowed: false, reason: 'overloaded' })
      expect(refused.headers.connection).toBe('close')
    } finally {
      check.destroy()
      await closed
      await h.sim.close()
    }
  })

  it('closes a keep-alive connection whose answer it held when the gate began shutting down', async () => {
    const h = await startHarness({ consents: [grant(GRANTED)] })
    await h.canCall(GRANTED)
    let closed: Promise<unknown> | undefined
    // After the door, in the same turn: the hit is held, not yet sent, when close() begins.
    h.gate.server.on('request', () => {
      closed ??= h.gate.close()
    })
    const socket = connect(Number(new URL(h.url).port), '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    let socketClosed = false
    socket.on('close', () => (socketClosed = true))
    try {
      socket.write(`GET ${checkPath(GRANTED)} HTTP/1.1\r\nHost: gate\r\n\r\n`)
      // Kept alive, the connection would hold close() open for keepAliveTimeout (72 s).
      await waitFor(() => socketClosed, 3000, 5)
      const answer = Buffer.concat(chunks).toString('utf8')
      expect(answer).toMatch(/^HTTP\/1\.1 200 /)
      expect(answer.toLowerCase()).toContain('\r\nconnection: close\r\n')
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ allowed: true })
      await closed
    } finally {
      socket.destroy()
      await closed
      await h.sim.close()
    }
  })

  it('stands aside while the gate sheds load: a cached check gets 503 overloaded', async () => {
    const h = await gates.start({
      consents: [grant(GRANTED)],
      env: { SHED_MAX_EVENT_LOOP_DELAY_MS: '20' },
      deps: { shedSampleIntervalMs: 25 },
    })
    // Calm first: cached. A busy machine can delay the loop past 20 ms by itself, so a few tries.
    await waitFor(async () => (await h.canCall(GRANTED)).status === 200, 3000, 100)
    let shed = await rawGet(h, checkPath(GRANTED))
    for (let i = 0; i < 10 && shed.status !== 503; i++) {
      const end = performance.now() + 60
      while (performance.now() < end);
      // One turn of the loop, so the sampler's timer, due during the stall, reads the delay before the check.
      await new Promise((r) => setTimeout(r, 1))
      shed = await rawGet(h, checkPath(GRANTED))
    }
    expect(shed.status).toBe(503)
    expect(shed.body.reason).toBe('overloaded')
  })
})
