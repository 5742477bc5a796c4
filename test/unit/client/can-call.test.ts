import fc from 'fast-check'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createClient, type CanCallResult } from '../../../src/client/index.js'
import { MAX_ANSWER_BYTES } from '../../../src/client/transport.js'
import { decisionBody, sendJson, useFakeGates } from './fake-gate.js'

const PAIR = { business: '+918000000001', user: '+919000000001' }
const TOKEN = 'caller-token-0123456789'
const gates = useFakeGates()

async function clientOf(url: string, timeoutMs = 2000) {
  return gates.track(createClient({ baseUrl: url, token: TOKEN, timeoutMs }))
}

/** A loopback port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

function expectUndetermined(result: CanCallResult, reason: string) {
  expect(result).toMatchObject({ verdict: 'undetermined', allowed: false, reason })
  expect(JSON.stringify(result)).not.toContain(TOKEN)
}

describe('canCall: decisions', () => {
  it('answers allowed with every field of the gate kept exactly, and asks as the gate expects', async () => {
    const gate = await gates.start()
    const result = await (await clientOf(gate.url)).canCall({ ...PAIR, fresh: true, priority: 'live' })
    expect(result).toEqual({ ...decisionBody(), verdict: 'allowed' })
    const [req] = gate.seen
    expect(req?.method).toBe('GET')
    expect(req?.url).toBe('/can-call?business=%2B918000000001&user=%2B919000000001&fresh=true&priority=live')
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`)
  })

  it('answers denied for a decision that says no, with its reason', async () => {
    const gate = await gates.start()
    gate.handle = (_req, res) =>
      sendJson(res, 200, decisionBody({ allowed: false, reason: 'consent_rejected' }))
    const result = await (await clientOf(gate.url)).canCall(PAIR)
    expect(result).toMatchObject({ verdict: 'denied', allowed: false, reason: 'consent_rejected' })
    expect(gate.seen[0]?.url).toBe('/can-call?business=%2B918000000001&user=%2B919000000001')
  })

  it('keeps the path of a baseUrl behind a proxy, and sends no Authorization without a token', async () => {
    const gate = await gates.start()
    const client = gates.track(createClient({ baseUrl: `${gate.url}/gate/` }))
    expect((await client.canCall(PAIR)).verdict).toBe('allowed')
    expect(gate.seen[0]?.url).toMatch(/^\/gate\/can-call\?/)
    expect(gate.seen[0]?.headers.authorization).toBeUndefined()
  })

  it('matches the pair by its digits, as the gate normalizes it', async () => {
    const gate = await gates.start()
    const result = await (await clientOf(gate.url)).canCall({ ...PAIR, user: '+91 90000-00001' })
    expect(result.verdict).toBe('allowed')
  })

  it('matches a BSUID exactly: the same digits under another country are another user', async () => {
    const gate = await gates.start()
    gate.handle = (_req, res) => sendJson(res, 200, decisionBody({ user: 'IN.1234567' }))
    const client = await clientOf(gate.url)
    expect((await client.canCall({ ...PAIR, user: 'IN.1234567' })).verdict).toBe('allowed')
    expect((await client.canCall({ ...PAIR, user: 'US.1234567' })).verdict).toBe('undetermined')
    expect(gate.seen[0]?.url).toBe('/can-call?business=%2B918000000001&user=IN.1234567')
  })

  it.each([
    ['allowed: true with another reason', decisionBody({ reason: 'no_consent' })],
    ['consent_granted with allowed: false', decisionBody({ allowed: false })],
    ['a reason this client does not know', decisionBody({ allowed: false, reason: 'moon_phase' })],
    ['a decision about another user', decisionBody({ user: '+919000000002' })],
    ['a decision without its decision_id', decisionBody({ decision_id: undefined })],
    ['an array', [decisionBody()]],
  ])('never says allowed for a 200 with %s', async (_name, body) => {
    const gate = await gates.start()
    gate.handle = (_req, res) => sendJson(res, 200, body)
    const result = await (await clientOf(gate.url)).canCall(PAIR)
    expectUndetermined(result, 'gate_unreachable')
    expect(result).toMatchObject({ status: 200 })
  })
})

describe('canCall: fails closed and never throws', () => {
  it('answers gate_unreachable when the gate does not answer in time', async () => {
    const gate = await gates.start()
    gate.handle = () => {}
    const started = performance.now()
    const result = await (await clientOf(gate.url, 100)).canCall(PAIR)
    expectUndetermined(result, 'gate_unreachable')
    expect(result).toMatchObject({ message: expect.stringContaining('did not answer within 100 ms') })
    expect(performance.now() - started).toBeLessThan(1500)
  })

  it('answers gate_unreachable when the body stops halfway', async () => {
    const gate = await gates.start()
    gate.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
      res.write('{"allowed":tr')
    }
    expectUndetermined(await (await clientOf(gate.url, 100)).canCall(PAIR), 'gate_unreachable')
  })

  it('answers gate_unreachable when the connection is refused', async () => {
    const client = await clientOf(`http://127.0.0.1:${await closedPort()}`)
    const result = await client.canCall(PAIR)
    expectUndetermined(result, 'gate_unreachable')
    expect(result).toMatchObject({ message: expect.stringContaining('ECONNREFUSED') })
  })

  it('answers gate_unreachable when the host name does not resolve', async () => {
    const result = await (await clientOf('http://consent-gate.invalid:8080')).canCall(PAIR)
    expectUndetermined(result, 'gate_unreachable')
    // A machine without a resolver may take longer to fail than the client waits.
    expect(result).toMatchObject({ message: expect.stringMatching(/ENOTFOUND|EAI_AGAIN|did not answer/) })
  })

  it('answers gate_unreachable when the gate resets the connection', async () => {
    const gate = await gates.start()
    gate.handle = (req) => req.socket.destroy()
    expectUndetermined(await (await clientOf(gate.url)).canCall(PAIR), 'gate_unreachable')
  })

  it('answers gate_unreachable when the gate resets the connection halfway through the body', async () => {
    const gate = await gates.start()
    gate.handle = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
      res.write('{"allowed":tr', () => req.socket.destroy())
    }
    expectUndetermined(await (await clientOf(gate.url)).canCall(PAIR), 'gate_unreachable')
  })

  it(`answers gate_unreachable for an answer beyond ${MAX_ANSWER_BYTES} bytes`, async () => {
    const gate = await gates.start()
    gate.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(Buffer.alloc(MAX_ANSWER_BYTES + 1, 0x20))
    }
    const result = await (await clientOf(gate.url)).canCall(PAIR)
    expectUndetermined(result, 'gate_unreachable')
    expect(result).toMatchObject({ message: expect.stringContaining('exceeded') })
  })

  it("answers the gate's 503 with its reason, Retry-After and decision_id", async () => {
    const gate = await gates.start()
    const body = {
      allowed: false,
      reason: 'upstream_unavailable',
      message: 'Kaleyra timed out',
      decision_id: 'd-1',
    }
    gate.handle = (_req, res) => sendJson(res, 503, body, { 'retry-after': '7' })
    expect(await (await clientOf(gate.url)).canCall(PAIR)).toEqual({
      verdict: 'undetermined',
      ...body,
      retry_after_seconds: 7,
      status: 503,
    })
  })

  it.each([
    [400, 'invalid_request'],
    [401, 'unauthorized'],
    [500, 'internal_error'],
    [503, 'overloaded'],
  ])("answers the gate's %i envelope with its reason %s and message", async (status, reason) => {
    const gate = await gates.start()
    gate.handle = (_req, res) => sendJson(res, status, { allowed: false, reason, message: `why ${reason}` })
    const result = await (await clientOf(gate.url)).canCall(PAIR)
    expectUndetermined(result, reason)
    expect(result).toMatchObject({ message: `why ${reason}`, status })
    expect(result).not.toHaveProperty('retry_after_seconds')
  })

  it.each([
    ['a 500 of plain text', 500, 'text/plain', 'Internal Server Error'],
    ["a proxy's 502 page", 502, 'text/html', '<html><body>Bad Gateway</body></html>'],
    ['a 200 that is not JSON', 200, 'application/json', '{"allowed": true'],
    ['an empty 200', 200, 'application/json', ''],
  ])('answers gate_unreachable for %s', async (_name, status, type, body) => {
    const gate = await gates.start()
    gate.handle = (_req, res) => res.writeHead(status, { 'content-type': type }).end(body)
    expectUndetermined(await (await clientOf(gate.url)).canCall(PAIR), 'gate_unreachable')
  })

  it('answers invalid_request without asking when business or user is not a string (JavaScript callers)', async () => {
    const gate = await gates.start()
    const client = await clientOf(gate.url)
    const bad = { business: 918000000001, user: PAIR.user } as unknown as typeof PAIR
    expectUndetermined(await client.canCall(bad), 'invalid_request')
    expectUndetermined(await client.canCall(undefined as unknown as typeof PAIR), 'invalid_request')
    expect(gate.seen).toEqual([])
  })

  it('answers gate_unreachable once closed', async () => {
    const gate = await gates.start()
    const client = await clientOf(gate.url)
    await client.close()
    expectUndetermined(await client.canCall(PAIR), 'gate_unreachable')
    expect(gate.seen).toEqual([])
  })

  it('says allowed only for a 200 grant of the pair asked, whatever else the gate answers', async () => {
    const gate = await gates.start()
    const client = await clientOf(gate.url, 500)
    const answers = fc.record({
      status: fc.constantFrom(200, 400, 401, 404, 500, 502, 503),
      body: fc.oneof(
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc
          .record({
            allowed: fc.oneof(fc.boolean(), fc.constant('true')),
            reason: fc.constantFrom('consent_granted', 'no_consent', 'overloaded', 'nope'),
            user: fc.constantFrom(PAIR.user, '+919000000002'),
          })
          .map((over) => JSON.stringify(decisionBody(over))),
      ),
      retryAfter: fc.option(fc.string({ maxLength: 12 }).filter((s) => /^[\x20-\x7e]*$/.test(s))),
    })
    await fc.assert(
      fc.asyncProperty(answers, async ({ status, body, retryAfter }) => {
        gate.handle = (_req, res) => {
          res.writeHead(status, retryAfter === null ? {} : { 'retry-after': retryAfter })
          res.end(body)
        }
        const result = await client.canCall(PAIR)
        const parsed = (() => {
          try {
            return JSON.parse(body) as Record<string, unknown>
          } catch {
            return undefined
          }
        })()
        const grant =
          status === 200 &&
          parsed?.allowed === true &&
          parsed.reason === 'consent_granted' &&
          parsed.user === PAIR.user
        expect(result.allowed).toBe(grant)
        expect(result.verdict === 'allowed').toBe(grant)
      }),
      { numRuns: 150, seed: 14 },
    )
  })
})
