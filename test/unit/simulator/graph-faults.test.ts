import { describe, expect, it } from 'vitest'
import { request } from 'undici'
import { createManualClock } from '../../../src/lib/clock.js'
import { B, consent, graphGet, permissionsOf, useSimulators, type GraphError } from './graph-helpers.js'

const start = useSimulators()
const ASK = permissionsOf('user_wa_id=919000000001')
const LIMIT_HIT = '(#613) Fetch Call Permission For Consumer Phone Number API Limit Hit'
const kaleyraPath = (sid: string) => `/v2/${sid}/whatsapp/call_permissions`

async function statuses(n: number, ask: () => Promise<{ status: number }>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await ask()).status)
  return out
}

describe("Meta's rate limit on call_permissions", () => {
  it('answers 429 code 613, with no Retry-After, to the 101st request within a second', async () => {
    const clock = createManualClock()
    const sim = await start({ consents: [consent('+919000000001')], clock })
    const answered = await statuses(100, () => graphGet(sim, ASK))
    expect(new Set(answered)).toEqual(new Set([200]))
    const res = await graphGet(sim, ASK)
    expect(res.status).toBe(429)
    expect(res.json()).toEqual({
      error: { message: LIMIT_HIT, type: 'OAuthException', code: 613, fbtrace_id: expect.any(String) },
    })
    expect(res.headers['retry-after']).toBeUndefined()
  })

  it('slides: a request is let through once the oldest answered one is a second old', async () => {
    const clock = createManualClock()
    const sim = await start({ consents: [consent('+919000000001')], metaMaxRps: 3, clock })
    expect(await statuses(2, () => graphGet(sim, ASK))).toEqual([200, 200])
    clock.advance(500)
    expect(await statuses(2, () => graphGet(sim, ASK))).toEqual([200, 429])
    clock.advance(499)
    expect((await graphGet(sim, ASK)).status).toBe(429)
    // The first two leave the window; the third, half a second younger, stays.
    clock.advance(1)
    expect(await statuses(3, () => graphGet(sim, ASK))).toEqual([200, 200, 429])
  })

  it('counts neither refused requests nor listings, and only Graph requests', async () => {
    const clock = createManualClock()
    const sim = await start({ consents: [consent('+919000000001')], metaMaxRps: 2, clock })
    await graphGet(sim, ASK, { token: 'wrong' })
    await graphGet(sim, permissionsOf('user_wa_id=919000000001', '555'))
    await graphGet(sim, `/v23.0/${sim.wabaId}/phone_numbers`)
    await request(`${sim.url}${kaleyraPath(sim.sid)}`, { headers: { 'api-key': sim.apiKey } }).then((r) =>
      r.body.text(),
    )
    expect(await statuses(3, () => graphGet(sim, ASK))).toEqual([200, 200, 429])
  })

  it('reads the system clock by default', async () => {
    const sim = await start({ consents: [consent('+919000000001')], metaMaxRps: 2 })
    expect(await statuses(3, () => graphGet(sim, ASK))).toEqual([200, 200, 429])
  })
})

describe('faults on Graph requests', () => {
  it('answers a graph_error with its status, code, subcode and Retry-After', async () => {
    const sim = await start()
    sim.setFault({ kind: 'graph_error', status: 429, code: 80007, subcode: 2494055, retryAfter: '3' }, 1)
    const res = await graphGet(sim, ASK)
    expect(res.status).toBe(429)
    expect(res.headers['retry-after']).toBe('3')
    expect(res.json()).toEqual({
      error: {
        message: '(#80007) Rate limit hit for WhatsApp Business Account',
        type: 'OAuthException',
        code: 80007,
        error_subcode: 2494055,
        fbtrace_id: expect.any(String),
      },
    })
    expect((await graphGet(sim, ASK)).status).toBe(200)
  })

  it('gives a code it has no wording for a generic message', async () => {
    const sim = await start()
    sim.setFault({ kind: 'graph_error', status: 400, code: 138006 })
    expect((await graphGet(sim, ASK)).json().error.message).toBe('(#138006) Simulated Graph API error')
  })

  it.each([
    [401, 190],
    [429, 613],
    [400, 100],
    [500, 2],
    [503, 2],
    [404, 1],
  ])('answers a status %i fault in Graph’s envelope with code %i', async (status, code) => {
    const sim = await start()
    sim.setFault({ kind: 'status', status, retryAfter: '9' })
    const res = await graphGet(sim, ASK, { token: 'wrong' })
    expect(res.status).toBe(status)
    expect(res.headers['retry-after']).toBe('9')
    expect((res.json() as GraphError).error).toMatchObject({ code, type: 'OAuthException' })
  })

  it('sends a custom status body as given', async () => {
    const sim = await start()
    sim.setFault({ kind: 'status', status: 502, body: '<html>Bad Gateway</html>' })
    const res = await graphGet(sim, ASK)
    expect([res.status, res.text, res.headers['content-type']]).toEqual([
      502,
      '<html>Bad Gateway</html>',
      'text/plain',
    ])
  })

  it('answers 200 with a truncated body when malformed', async () => {
    const sim = await start()
    sim.setFault({ kind: 'malformed' })
    for (const path of [ASK, `/v23.0/${sim.wabaId}/phone_numbers`]) {
      const res = await graphGet(sim, path)
      expect(res.status).toBe(200)
      expect(() => res.json()).toThrow(SyntaxError)
    }
  })

  it('answers string booleans and numbers when wrong_types', async () => {
    const sim = await start()
    sim.setFault({ kind: 'wrong_types' })
    const body = (await graphGet(sim, ASK)).json()
    expect(body.actions[1]).toMatchObject({ action_name: 'start_call', can_perform_action: 'true' })
    const listing = (await graphGet(sim, `/v23.0/${sim.wabaId}/phone_numbers`)).json()
    expect(typeof listing.data[0].id).toBe('number')
  })

  it('delays the answer by a latency fault', async () => {
    const sim = await start({ consents: [consent('+919000000001')] })
    sim.setFault({ kind: 'latency', ms: 120 }, 1)
    const t0 = performance.now()
    const res = await graphGet(sim, ASK)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110)
    expect(res.json().permission.status).toBe('temporary')
  })

  it('resets the connection and hangs, as for Kaleyra', async () => {
    const sim = await start()
    sim.setFault({ kind: 'reset' }, 1)
    sim.setFault({ kind: 'hang' }, 1)
    const reset = await graphGet(sim, ASK).catch((e: unknown) => e)
    expect((reset as { code?: string }).code).toBe('ECONNRESET')
    const hung = await request(`${sim.url}${ASK}`, {
      headers: { authorization: `Bearer ${sim.metaAccessToken}` },
      headersTimeout: 200,
    }).catch((e: unknown) => e)
    expect((hung as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT')
  })

  it("lets a Kaleyra code fault pass Graph requests by, unused, and a graph_error pass Kaleyra's", async () => {
    const sim = await start()
    sim.setFault({ kind: 'code', code: 'WA500' }, 1)
    expect((await graphGet(sim, ASK)).status).toBe(200)
    const kaleyra = () =>
      request(`${sim.url}${kaleyraPath(sim.sid)}`, { headers: { 'api-key': sim.apiKey } }).then(
        async (r) => ({
          status: r.statusCode,
          body: (await r.body.json()) as { code: string },
        }),
      )
    expect((await kaleyra()).body.code).toBe('WA500')
    sim.setFault({ kind: 'graph_error', status: 500, code: 2 }, 1)
    expect((await kaleyra()).body.code).toBe('WA200')
    expect((await graphGet(sim, ASK)).status).toBe(500)
  })

  it('matches a business filter against the number of the phone number id asked', async () => {
    const sim = await start()
    sim.setFault({ kind: 'graph_error', status: 500, code: 2, business: '+918000000002' }, 1)
    expect((await graphGet(sim, ASK)).status).toBe(200)
    expect((await graphGet(sim, `/v23.0/${sim.wabaId}/phone_numbers`)).status).toBe(200)
    expect((await graphGet(sim, permissionsOf('user_wa_id=919000000001', '1918000000002'))).status).toBe(500)
    expect(sim.requests.map((q) => q.business)).toEqual([[B], [], ['+918000000002']])
  })
})

describe('holds on Graph requests', () => {
  it('answers a held Graph request only on release, from the records as they are then', async () => {
    const sim = await start()
    const hold = sim.hold()
    let answered = false
    const pending = graphGet(sim, ASK).then((r) => {
      answered = true
      return r
    })
    await expect.poll(() => hold.requests.length).toBe(1)
    expect(answered).toBe(false)
    sim.upsert(consent('+919000000001', { is_permanent: true }))
    expect(hold.release().map((q) => [q.api, q.business, q.user])).toEqual([['meta', [B], ['+919000000001']]])
    expect((await pending).json().permission).toEqual({ status: 'permanent' })
  })

  it('drops a held Graph request on close', async () => {
    const sim = await start()
    const hold = sim.hold()
    const pending = graphGet(sim, ASK).catch((e: unknown) => e)
    await expect.poll(() => hold.requests.length).toBe(1)
    await sim.close()
    expect(await pending).toBeInstanceOf(Error)
  })
})
