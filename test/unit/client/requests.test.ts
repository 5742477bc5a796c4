import { describe, expect, it } from 'vitest'
import { ConsentGateError, createClient } from '../../../src/client/index.js'
import { parseRetryAfter } from '../../../src/client/transport.js'
import { decisionBody, sendJson, useFakeGates } from './fake-gate.js'

const PAIR = { business: '+918000000001', user: '+919000000001' }
const OTHER = { business: '+918000000001', user: '+919000000002' }
const TOKEN = 'caller-token-0123456789'
const OUTCOME = { ...PAIR, outcome: 'unanswered' as const }
const gates = useFakeGates()

const clientOf = (url: string, timeoutMs = 2000) =>
  gates.track(createClient({ baseUrl: url, token: TOKEN, timeoutMs }))

/** The error a promise rejects with, or a failure when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<ConsentGateError> {
  const outcome = await promise.then(
    () => new Error('resolved'),
    (err: unknown) => err,
  )
  expect(outcome).toBeInstanceOf(ConsentGateError)
  expect(String((outcome as Error).message)).not.toContain(TOKEN)
  return outcome as ConsentGateError
}

describe('canCallBatch', () => {
  it('answers each check in order, a decision or that pair alone undetermined, and sends priority', async () => {
    const gate = await gates.start()
    const unavailable = {
      allowed: false,
      reason: 'upstream_unavailable',
      message: 'Kaleyra',
      decision_id: 'd',
    }
    const denied = decisionBody({ ...OTHER, allowed: false, reason: 'no_consent' })
    gate.handle = (_req, res) => sendJson(res, 200, { results: [decisionBody(), denied, unavailable] })
    const { results } = await clientOf(gate.url).canCallBatch([PAIR, OTHER, PAIR], { priority: 'bulk' })
    expect(results).toEqual([
      { ...decisionBody(), verdict: 'allowed' },
      { ...denied, verdict: 'denied' },
      { ...unavailable, verdict: 'undetermined' },
    ])
    expect(gate.seen[0]).toMatchObject({ method: 'POST', url: '/can-call/batch?priority=bulk' })
    expect(JSON.parse(gate.seen[0]!.body)).toEqual({ checks: [PAIR, OTHER, PAIR] })
    expect(gate.seen[0]?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
    })
  })

  it('never says allowed for an item about another pair than the one asked in its place', async () => {
    const gate = await gates.start()
    gate.handle = (_req, res) => sendJson(res, 200, { results: [decisionBody(), decisionBody()] })
    const { results } = await clientOf(gate.url).canCallBatch([PAIR, OTHER])
    expect(results.map((r) => r.verdict)).toEqual(['allowed', 'undetermined'])
  })

  it('throws the 503 with its code and Retry-After, for the caller to back off', async () => {
    const gate = await gates.start()
    gate.handle = (_req, res) =>
      sendJson(
        res,
        503,
        { allowed: false, reason: 'overloaded', message: 'shed', decision_id: 'd' },
        { 'retry-after': '2' },
      )
    const err = await rejection(clientOf(gate.url).canCallBatch([PAIR]))
    expect(err).toMatchObject({ status: 503, code: 'overloaded', message: 'shed', retryAfterSeconds: 2 })
  })

  it.each([
    [400, 'invalid_request'],
    [401, 'unauthorized'],
  ])('throws the %i with its code %s', async (status, reason) => {
    const gate = await gates.start()
    gate.handle = (_req, res) => sendJson(res, status, { allowed: false, reason, message: 'no' })
    expect(await rejection(clientOf(gate.url).canCallBatch([PAIR]))).toMatchObject({ status, code: reason })
  })

  it('throws gate_unreachable on a timeout, a non-JSON 502, and results that do not match the checks', async () => {
    const gate = await gates.start()
    const client = clientOf(gate.url, 100)
    gate.handle = () => {}
    expect(await rejection(client.canCallBatch([PAIR]))).toMatchObject({
      code: 'gate_unreachable',
      status: undefined,
    })
    gate.handle = (_req, res) => res.writeHead(502).end('Bad Gateway')
    expect(await rejection(client.canCallBatch([PAIR]))).toMatchObject({
      code: 'gate_unreachable',
      status: 502,
    })
    gate.handle = (_req, res) => sendJson(res, 200, { results: [] })
    expect(await rejection(client.canCallBatch([PAIR]))).toMatchObject({
      code: 'gate_unreachable',
      status: 200,
    })
  })
})

describe('reportOutcomes', () => {
  it("posts the outcomes and answers the gate's results", async () => {
    const gate = await gates.start()
    const results = [{ ...PAIR, unanswered_streak: 1, blocked: false }]
    gate.handle = (_req, res) => sendJson(res, 200, { results })
    expect(await clientOf(gate.url).reportOutcomes([OUTCOME])).toEqual({ results })
    expect(gate.seen[0]).toMatchObject({ method: 'POST', url: '/call-outcomes' })
    expect(JSON.parse(gate.seen[0]!.body)).toEqual([OUTCOME])
  })

  it('throws the 400 and the 401 with their codes', async () => {
    const gate = await gates.start()
    gate.handle = (_req, res) =>
      sendJson(res, 400, { allowed: false, reason: 'invalid_request', message: 'bad' })
    expect(await rejection(clientOf(gate.url).reportOutcomes(OUTCOME))).toMatchObject({
      code: 'invalid_request',
    })
    gate.handle = (_req, res) =>
      sendJson(res, 401, { allowed: false, reason: 'unauthorized', message: 'who' })
    expect(await rejection(clientOf(gate.url).reportOutcomes(OUTCOME))).toMatchObject({
      code: 'unauthorized',
    })
  })
})

describe('keep-alive', () => {
  it('sends sequential calls of every kind over one connection', async () => {
    const gate = await gates.start()
    const client = clientOf(gate.url)
    for (let i = 0; i < 20; i++) expect((await client.canCall(PAIR)).verdict).toBe('allowed')
    gate.handle = (_req, res) => sendJson(res, 200, { results: [decisionBody()] })
    await client.canCallBatch([PAIR])
    expect(gate.seen).toHaveLength(21)
    expect(gate.connections()).toBe(1)
  })

  it('sends a check again on a new connection when the gate closed the kept one as it went out', async () => {
    const gate = await gates.start()
    const client = clientOf(gate.url)
    await client.canCall(PAIR)
    // The second request arrives on the kept socket, which the gate drops unanswered: what a keep-alive race is.
    gate.handle = (req, res) => {
      if (gate.seen.length === 2) req.socket.destroy()
      else sendJson(res, 200, decisionBody())
    }
    expect((await client.canCall(PAIR)).verdict).toBe('allowed')
    expect(gate.seen).toHaveLength(3)
    expect(gate.connections()).toBe(2)
  })

  it('never sends an outcome twice: a repeat would count twice in the streak', async () => {
    const gate = await gates.start()
    const client = clientOf(gate.url)
    await client.canCall(PAIR)
    gate.handle = (req) => req.socket.destroy()
    expect(await rejection(client.reportOutcomes(OUTCOME))).toMatchObject({ code: 'gate_unreachable' })
    expect(gate.seen.map((s) => s.url)).toEqual([
      '/can-call?business=%2B918000000001&user=%2B919000000001',
      '/call-outcomes',
    ])
  })

  it('closes its connections on close()', async () => {
    const gate = await gates.start()
    const client = clientOf(gate.url)
    await client.canCall(PAIR)
    await client.close()
    await expect(client.canCallBatch([PAIR])).rejects.toMatchObject({ code: 'gate_unreachable' })
    await gate.close() // resolves only once the server holds no connection
  })
})

describe('createClient options', () => {
  it.each([
    ['a baseUrl that is not http', { baseUrl: 'ftp://gate' }, /http/],
    ['a timeoutMs of 0', { baseUrl: 'http://gate', timeoutMs: 0 }, /timeoutMs/],
    ['maxConnections of 1.5', { baseUrl: 'http://gate', maxConnections: 1.5 }, /maxConnections/],
    ['a token with a line break', { baseUrl: 'http://gate', token: `${TOKEN}\r\nx-evil: 1` }, /token/],
  ])('throws at once for %s, never repeating the token', (_name, options, message) => {
    expect(() => createClient(options)).toThrow(message)
    expect(() => createClient(options)).not.toThrow(TOKEN)
  })
})

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and ignores anything else', () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0)
    expect(parseRetryAfter('7', now)).toBe(7)
    expect(parseRetryAfter(new Date(now + 2500).toUTCString(), now)).toBe(2)
    expect(parseRetryAfter(new Date(now - 60_000).toUTCString(), now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('-1', now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
  })
})
