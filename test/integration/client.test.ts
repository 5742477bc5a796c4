import { afterEach, describe, expect, it } from 'vitest'
import { ConsentGateError, createClient, type ConsentGateClient } from '../../src/client/index.js'
import { BUSINESS, grant, reject, useGates } from '../helpers/gate.js'

const GRANTED = '+919000000001'
const REJECTED = '+919000000002'
const NOBODY = '+919000000003'
const TOKEN = 'dialer-token-0123456789'

const clients: ConsentGateClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})
const gates = useGates()

async function start(env: Record<string, string> = {}) {
  const h = await gates.start({ consents: [grant(GRANTED), reject(REJECTED)], env })
  const client = createClient({ baseUrl: h.url, token: TOKEN, timeoutMs: 3000 })
  clients.push(client)
  return { h, client }
}

describe('consent-gate/client against the gate', () => {
  it('canCall answers allowed, denied and fresh decisions as GET /can-call does', async () => {
    const { h, client } = await start({ GATE_API_TOKENS: TOKEN })
    const allowed = await client.canCall({ business: BUSINESS, user: GRANTED })
    expect(allowed).toMatchObject({
      verdict: 'allowed',
      allowed: true,
      reason: 'consent_granted',
      source: 'upstream',
    })
    const again = await client.canCall({ business: BUSINESS, user: GRANTED })
    expect(again).toMatchObject({ verdict: 'allowed', source: 'cache' })
    const fresh = await client.canCall({ business: BUSINESS, user: GRANTED, fresh: true, priority: 'live' })
    expect(fresh).toMatchObject({ verdict: 'allowed', source: 'upstream' })
    expect(await client.canCall({ business: BUSINESS, user: REJECTED })).toMatchObject({
      verdict: 'denied',
      reason: 'consent_rejected',
    })
    // The same answer, field for field, as the route gives it (decision_id and source aside).
    const direct = await h.get(
      `/can-call?business=${encodeURIComponent(BUSINESS)}&user=${encodeURIComponent(NOBODY)}`,
      { authorization: `Bearer ${TOKEN}` },
    )
    const viaClient = await client.canCall({ business: BUSINESS, user: NOBODY })
    expect({ ...viaClient, decision_id: '', source: '' }).toEqual({
      ...direct.body,
      decision_id: '',
      source: '',
      verdict: 'denied',
    })
  })

  it("canCall answers undetermined with the gate's reason and Retry-After when Kaleyra fails", async () => {
    const { h, client } = await start()
    h.sim.setFault({ kind: 'status', status: 429, retryAfter: '7' })
    expect(await client.canCall({ business: BUSINESS, user: GRANTED })).toMatchObject({
      verdict: 'undetermined',
      allowed: false,
      reason: 'upstream_unavailable',
      retry_after_seconds: 7,
      status: 503,
    })
  })

  it('canCall answers unauthorized for a wrong token, invalid_request for a bad number', async () => {
    const { h, client } = await start({ GATE_API_TOKENS: 'another-token-0123456789' })
    expect(await client.canCall({ business: BUSINESS, user: GRANTED })).toMatchObject({
      verdict: 'undetermined',
      reason: 'unauthorized',
      status: 401,
    })
    const known = createClient({ baseUrl: h.url, token: 'another-token-0123456789' })
    clients.push(known)
    const bad = await known.canCall({ business: BUSINESS, user: '+91abc' })
    expect(bad).toMatchObject({ verdict: 'undetermined', reason: 'invalid_request', status: 400 })
  })

  it('canCall answers gate_unreachable once the gate is gone', async () => {
    const { h, client } = await start()
    await h.close()
    expect(await client.canCall({ business: BUSINESS, user: GRANTED })).toMatchObject({
      verdict: 'undetermined',
      reason: 'gate_unreachable',
    })
  })

  it('canCallBatch answers each pair in order, a bad pair alone undetermined', async () => {
    const { client } = await start({ GATE_API_TOKENS: TOKEN })
    const { results } = await client.canCallBatch(
      [
        { business: BUSINESS, user: GRANTED },
        { business: BUSINESS, user: '+91abc' },
        { business: BUSINESS, user: REJECTED },
      ],
      { priority: 'bulk' },
    )
    expect(results.map((r) => [r.verdict, r.reason])).toEqual([
      ['allowed', 'consent_granted'],
      ['undetermined', 'invalid_request'],
      ['denied', 'consent_rejected'],
    ])
  })

  it('canCallBatch throws ConsentGateError for a request the gate refuses', async () => {
    const { client } = await start({ GATE_API_TOKENS: TOKEN })
    const tooMany = Array.from({ length: 1001 }, () => ({ business: BUSINESS, user: GRANTED }))
    const err = await client.canCallBatch(tooMany).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConsentGateError)
    expect(err).toMatchObject({ status: 400, code: 'invalid_request' })
  })

  it('reportOutcomes reports outcomes, and the gate blocks the pair at the streak limit', async () => {
    const { client } = await start({ GATE_API_TOKENS: TOKEN, UNANSWERED_STREAK_LIMIT: '2' })
    const outcome = { business: BUSINESS, user: GRANTED, outcome: 'unanswered' as const }
    expect(await client.reportOutcomes(outcome)).toEqual({
      results: [{ business: BUSINESS, user: GRANTED, unanswered_streak: 1, blocked: false }],
    })
    const { results } = await client.reportOutcomes([outcome])
    expect(results[0]).toMatchObject({ unanswered_streak: 2, blocked: true })
    expect(await client.canCall({ business: BUSINESS, user: GRANTED })).toMatchObject({
      verdict: 'denied',
      reason: 'unanswered_streak',
    })
  })

  it('keeps one connection for sequential calls', async () => {
    const { h, client } = await start()
    let connections = 0
    h.gate.server.on('connection', () => connections++)
    for (let i = 0; i < 10; i++) await client.canCall({ business: BUSINESS, user: GRANTED })
    await client.canCallBatch([{ business: BUSINESS, user: REJECTED }])
    await client.reportOutcomes({ business: BUSINESS, user: REJECTED, outcome: 'answered' })
    expect(connections).toBe(1)
  })
})
