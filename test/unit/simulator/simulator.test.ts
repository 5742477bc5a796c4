import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, request } from 'undici'
import {
  createKaleyraSimulator,
  type KaleyraSimulator,
  type KaleyraSimulatorOptions,
  type SimConsent,
} from '../../../src/simulator/simulator.js'
import { DEMO_BUSINESS, DEMO_USERS, demoChecks, demoConsents } from '../../../src/simulator/seed.js'
import { checkSuccessEnvelope } from '../../../src/upstream/kaleyra/wire.js'

interface Envelope {
  code: string
  message: string
  data: Record<string, unknown>[]
  error: Record<string, unknown>
  limit?: number
  offset?: number
  total?: number
}

const NOW = Date.UTC(2025, 11, 9, 8, 56, 41, 789)
const B = DEMO_BUSINESS
const B2 = '+918000000002'
const AUTH_FAILED_BODY =
  '{"code":"RBC001","message":"Incorrect SID or API key.","data":[],"error":{"error":"Incorrect SID or API key."}}'

const started: KaleyraSimulator[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((sim) => sim.close()))
})

async function start(
  opts: KaleyraSimulatorOptions = { consents: demoConsents(NOW) },
): Promise<KaleyraSimulator> {
  const sim = createKaleyraSimulator(opts)
  started.push(sim)
  await sim.listen()
  return sim
}

const permissions = (sim: KaleyraSimulator, query = '') => `/v2/${sim.sid}/whatsapp/call_permissions${query}`

async function get(
  sim: KaleyraSimulator,
  path: string,
  opts: { headers?: Record<string, string>; method?: 'GET' | 'POST' } = {},
) {
  const res = await request(`${sim.url}${path}`, {
    method: opts.method ?? 'GET',
    headers: opts.headers ?? { 'api-key': sim.apiKey },
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Envelope }
}

const consent = (user: string, extra: Partial<SimConsent> = {}): SimConsent => ({
  business: B,
  user,
  response: 'accept',
  can_perform_action: true,
  is_permanent: true,
  ...extra,
})

const users = (body: Envelope) => body.data.map((r) => r.user_phone_number)

describe('createKaleyraSimulator', () => {
  it('has an empty url before listen and a loopback url after', async () => {
    const sim = createKaleyraSimulator()
    started.push(sim)
    expect(sim.url).toBe('')
    const url = await sim.listen()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(sim.url).toBe(url)
    expect(sim.sid).toBe('HXSIM00000000001IN')
    expect(sim.apiKey).toBe('sim-key')
  })

  it('closes without error when it never listened', async () => {
    await expect(createKaleyraSimulator().close()).resolves.toBeUndefined()
  })
})

describe('GET call_permissions: success', () => {
  it('answers the documented envelope with one exact record', async () => {
    const sim = await start()
    const res = await get(
      sim,
      permissions(sim, `?business_phone_number=%2B918000000001&user_phone_number=%2B919000000001`),
    )
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json')
    const body = res.json()
    expect(checkSuccessEnvelope.Check(body)).toBe(true)
    expect(body).toEqual({
      code: 'WA200',
      message: 'Request Processed Successfully',
      data: [
        {
          business_phone_number: B,
          user_phone_number: DEMO_USERS.temporaryGranted,
          can_perform_action: true,
          response: 'accept',
          is_permanent: false,
          response_source: 'user_action',
          expiration_timestamp: '2025-12-16T08:56:41Z',
        },
      ],
      error: {},
      limit: 25,
      offset: 0,
      total: 1,
    })
  })

  it('emits a null expiry when the consent has none', async () => {
    const sim = await start()
    const body = (await get(sim, permissions(sim, `?user_phone_number=%2B919000000002`))).json()
    expect(body.data[0]).toHaveProperty('expiration_timestamp', null)
  })

  it('emits the expiry under expiration_time_stamp when asked to', async () => {
    const sim = await start({
      consents: [consent('+919000000001', { expiresAt: NOW, expiryField: 'expiration_time_stamp' })],
    })
    const record = (await get(sim, permissions(sim))).json().data[0]
    expect(record).toHaveProperty('expiration_time_stamp', '2025-12-09T08:56:41Z')
    expect(record).not.toHaveProperty('expiration_timestamp')
  })

  it('keeps a custom response_source', async () => {
    const sim = await start({ consents: [consent('+919000000001', { response_source: 'meta_api' })] })
    expect((await get(sim, permissions(sim))).json().data[0]).toHaveProperty('response_source', 'meta_api')
  })

  it('answers every stored record when no filter is given', async () => {
    const sim = await start()
    const body = (await get(sim, permissions(sim))).json()
    expect(body.total).toBe(5)
    expect(users(body)).toEqual([
      DEMO_USERS.temporaryGranted,
      DEMO_USERS.permanentGranted,
      DEMO_USERS.rejected,
      DEMO_USERS.expired,
      DEMO_USERS.limitReached,
    ])
  })

  it('never lists a user known only by a BSUID: Kaleyra keys by phone number', async () => {
    const sim = await start({ consents: [consent('US.13491208655302741918'), consent('+919000000001')] })
    const body = (await get(sim, permissions(sim))).json()
    expect(users(body)).toEqual(['+919000000001'])
    expect(body.total).toBe(1)
  })

  it('answers an empty page with total 0 when nothing matches', async () => {
    const sim = await start()
    const body = (await get(sim, permissions(sim, `?user_phone_number=%2B919000000009`))).json()
    expect(body).toMatchObject({ code: 'WA200', data: [], total: 0 })
  })
})

describe('GET call_permissions: query parsing', () => {
  it('trims comma-list items, as in the API page sample', async () => {
    const sim = await start()
    const body = (
      await get(sim, permissions(sim, `?user_phone_number=%2B919000000001,%20%2B919000000003`))
    ).json()
    expect(users(body)).toEqual([DEMO_USERS.temporaryGranted, DEMO_USERS.rejected])
    expect(sim.requests[0]?.user).toEqual([DEMO_USERS.temporaryGranted, DEMO_USERS.rejected])
  })

  it('decodes a bare + to a space, so an unencoded number matches nothing', async () => {
    const sim = await start()
    const body = (await get(sim, permissions(sim, `?user_phone_number=+919000000001`))).json()
    expect(body.total).toBe(0)
    expect(sim.requests[0]?.user).toEqual(['919000000001'])
    expect(sim.requests[0]?.query).toEqual({ user_phone_number: ' 919000000001' })
  })

  it('filters by business and user together', async () => {
    const sim = await start({ consents: [...demoConsents(NOW), ...demoConsents(NOW, B2)] })
    const all = (await get(sim, permissions(sim, `?user_phone_number=%2B919000000002`))).json()
    expect(all.data.map((r) => r.business_phone_number)).toEqual([B, B2])
    const one = (
      await get(
        sim,
        permissions(sim, `?business_phone_number=%2B918000000002&user_phone_number=%2B919000000002`),
      )
    ).json()
    expect(one.data.map((r) => [r.business_phone_number, r.user_phone_number])).toEqual([
      [B2, DEMO_USERS.permanentGranted],
    ])
    expect(one.total).toBe(1)
  })

  it('filters by business alone', async () => {
    const sim = await start({ consents: [...demoConsents(NOW), consent('+919000000001', { business: B2 })] })
    const body = (await get(sim, permissions(sim, `?business_phone_number=%2B918000000002`))).json()
    expect(body.total).toBe(1)
    expect(body.data[0]).toHaveProperty('business_phone_number', B2)
  })

  it('records every request with its parsed parameters', async () => {
    const sim = await start()
    await get(sim, permissions(sim, `?business_phone_number=%2B918000000001&limit=3&offset=1`), {
      headers: { 'api-key': 'wrong' },
    })
    expect(sim.requests).toEqual([
      {
        api: 'kaleyra',
        path: permissions(sim),
        query: { business_phone_number: B, limit: '3', offset: '1' },
        apiKeyOk: false,
        business: [B],
        user: [],
        limit: 3,
        offset: 1,
        receivedAtMs: expect.any(Number),
      },
    ])
    sim.resetRequests()
    expect(sim.requests).toHaveLength(0)
  })

  it('reads the first value of a repeated parameter, everywhere', async () => {
    const sim = await start()
    const body = (await get(sim, permissions(sim, `?limit=1&limit=3`))).json()
    expect(body.limit).toBe(1)
    expect(sim.requests[0]?.query.limit).toBe('1')
  })

  it('does not record requests to other paths', async () => {
    const sim = await start()
    await get(sim, '/v2/other')
    expect(sim.requests).toHaveLength(0)
  })
})

describe('GET call_permissions: paging', () => {
  const many = Array.from({ length: 120 }, (_, i) => consent(`+9190000${String(i).padStart(5, '0')}`))

  it('pages with limit and offset and counts the total before paging', async () => {
    const sim = await start()
    const body = (await get(sim, permissions(sim, `?limit=2&offset=1`))).json()
    expect(body).toMatchObject({ limit: 2, offset: 1, total: 5 })
    expect(users(body)).toEqual([DEMO_USERS.permanentGranted, DEMO_USERS.rejected])
  })

  it('defaults limit to 25', async () => {
    const sim = await start({ consents: many })
    const body = (await get(sim, permissions(sim))).json()
    expect(body.data).toHaveLength(25)
    expect(body).toMatchObject({ limit: 25, offset: 0, total: 120 })
  })

  it('caps limit at 100', async () => {
    const sim = await start({ consents: many })
    const body = (await get(sim, permissions(sim, `?limit=500`))).json()
    expect(body.data).toHaveLength(100)
    expect(body).toMatchObject({ limit: 100, total: 120 })
    expect(sim.requests[0]?.limit).toBe(500)
  })

  it.each([
    ['limit=-1', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=', 'limit'],
    ['offset=1.5', 'offset'],
    ['offset=-3', 'offset'],
  ])('answers 400 WA400 to %s', async (query, name) => {
    const sim = await start()
    const res = await get(sim, permissions(sim, `?${query}`))
    expect(res.status).toBe(400)
    expect(res.json()).toEqual({
      code: 'WA400',
      message: 'Incorrect payload',
      data: [],
      error: { error: `${name} must be a non-negative integer` },
    })
  })
})

describe('GET call_permissions: answer shape options', () => {
  it('writes numbers spaced when numberFormat is spaced', async () => {
    const sim = await start({ consents: demoConsents(NOW), numberFormat: 'spaced' })
    const record = (await get(sim, permissions(sim, `?user_phone_number=%2B919000000001`))).json().data[0]
    expect(record).toMatchObject({
      business_phone_number: '+91 80000 00001',
      user_phone_number: '+91 90000 00001',
    })
  })

  it('reverses the stored order when order is reversed', async () => {
    const sim = await start({ consents: demoConsents(NOW), order: 'reversed' })
    const body = (await get(sim, permissions(sim, `?limit=2`))).json()
    expect(users(body)).toEqual([DEMO_USERS.limitReached, DEMO_USERS.expired])
  })

  it('adds up to two unrelated records around a non-empty page, outside the total', async () => {
    const sim = await start({ consents: demoConsents(NOW), includeUnrelated: true })
    const body = (await get(sim, permissions(sim, `?user_phone_number=%2B919000000004`))).json()
    expect(body.total).toBe(1)
    expect(users(body)).toEqual([
      DEMO_USERS.temporaryGranted,
      DEMO_USERS.expired,
      DEMO_USERS.permanentGranted,
    ])
  })

  it('adds no unrelated records when nothing matches', async () => {
    const sim = await start({ consents: demoConsents(NOW), includeUnrelated: true })
    const body = (await get(sim, permissions(sim, `?user_phone_number=%2B919000000009`))).json()
    expect(body.data).toEqual([])
  })
})

describe('the consent store', () => {
  it('upserts by pair, replacing in place', async () => {
    const sim = await start()
    sim.upsert(consent(DEMO_USERS.rejected, { response: 'accept', can_perform_action: true }))
    sim.upsert(consent(DEMO_USERS.noConsent))
    const body = (await get(sim, permissions(sim))).json()
    expect(body.total).toBe(6)
    expect(body.data[2]).toMatchObject({ user_phone_number: DEMO_USERS.rejected, response: 'accept' })
    expect(body.data[5]).toHaveProperty('user_phone_number', DEMO_USERS.noConsent)
  })

  it('does not share the caller’s object', async () => {
    const record = consent(DEMO_USERS.noConsent)
    const sim = await start({ consents: [record] })
    record.response = 'reject'
    expect((await get(sim, permissions(sim))).json().data[0]).toHaveProperty('response', 'accept')
  })

  it('removes one pair and clears all', async () => {
    const sim = await start()
    sim.remove(B, DEMO_USERS.rejected)
    expect(users((await get(sim, permissions(sim))).json())).not.toContain(DEMO_USERS.rejected)
    sim.clear()
    expect((await get(sim, permissions(sim))).json().total).toBe(0)
  })
})

describe('GET call_permissions: auth and routing', () => {
  it.each([
    ['a wrong api key', { 'api-key': 'nope' }],
    ['no api key', {}],
  ])('answers 401 RBC001 to %s', async (_name, headers) => {
    const sim = await start()
    const res = await get(sim, permissions(sim), { headers })
    expect(res.status).toBe(401)
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.text).toBe(AUTH_FAILED_BODY)
  })

  it('answers 401 RBC001 to a wrong SID', async () => {
    const sim = await start({ sid: 'HXREAL', apiKey: 'k' })
    const res = await get(sim, '/v2/HXOTHER/whatsapp/call_permissions', { headers: { 'api-key': 'k' } })
    expect(res.status).toBe(401)
    expect(res.text).toBe(AUTH_FAILED_BODY)
    expect(sim.requests[0]?.apiKeyOk).toBe(true)
  })

  it('answers 404 WA404 to other paths', async () => {
    const sim = await start()
    const res = await get(sim, `${permissions(sim)}/extra`)
    expect(res.status).toBe(404)
    expect(res.text).toBe('{"code":"WA404","message":"Not found","data":[],"error":{}}')
  })

  it('answers 405 to other methods on the path', async () => {
    const sim = await start()
    const res = await get(sim, permissions(sim), { method: 'POST' })
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('GET')
  })

  it('keeps the connection alive between requests', async () => {
    const sim = await start()
    const client = new Client(sim.url)
    let connections = 0
    client.on('connect', () => connections++)
    try {
      for (let i = 0; i < 3; i++) {
        const res = await client.request({
          path: permissions(sim),
          method: 'GET',
          headers: { 'api-key': sim.apiKey },
        })
        expect(res.headers.connection).toBe('keep-alive')
        await res.body.text()
      }
      expect(connections).toBe(1)
    } finally {
      await client.close()
    }
  })
})

describe('faults', () => {
  it('delays the normal answer by the latency', async () => {
    const sim = await start()
    sim.setFault({ kind: 'latency', ms: 150 })
    const t0 = performance.now()
    const res = await get(sim, permissions(sim))
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140)
    expect(res.json().total).toBe(5)
  })

  it('checks auth after the latency', async () => {
    const sim = await start()
    sim.setFault({ kind: 'latency', ms: 100 }, 1)
    const t0 = performance.now()
    const res = await get(sim, permissions(sim), { headers: { 'api-key': 'nope' } })
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90)
    expect(res.status).toBe(401)
  })

  it('answers a status fault before auth, with Retry-After when given', async () => {
    const sim = await start()
    sim.setFault({ kind: 'status', status: 429, retryAfter: '7' })
    const res = await get(sim, permissions(sim), { headers: { 'api-key': 'nope' } })
    expect(res.status).toBe(429)
    expect(res.headers['retry-after']).toBe('7')
    expect(res.json().code).toBe('WA429')
  })

  it('sends a custom status body as given', async () => {
    const sim = await start()
    sim.setFault({ kind: 'status', status: 502, body: 'Bad Gateway' })
    const res = await get(sim, permissions(sim))
    expect(res.status).toBe(502)
    expect(res.text).toBe('Bad Gateway')
    expect(res.headers['content-type']).toBe('text/plain')
    expect(res.headers['retry-after']).toBeUndefined()
  })

  it('answers 200 with a body that is not JSON when malformed', async () => {
    const sim = await start()
    sim.setFault({ kind: 'malformed' })
    const res = await get(sim, permissions(sim))
    expect(res.status).toBe(200)
    expect(() => res.json()).toThrow(SyntaxError)
  })

  it('answers 200 with another code', async () => {
    const sim = await start()
    sim.setFault({ kind: 'code', code: 'WA500' })
    const res = await get(sim, permissions(sim))
    expect(res.status).toBe(200)
    expect(res.json()).toMatchObject({ code: 'WA500', data: [] })
  })

  it('answers a WA200 envelope with wrongly typed records', async () => {
    const sim = await start()
    sim.setFault({ kind: 'wrong_types' })
    const body = (
      await get(
        sim,
        permissions(sim, `?business_phone_number=%2B918000000001&user_phone_number=%2B919000000003`),
      )
    ).json()
    expect(body.code).toBe('WA200')
    expect(body.data[0]).toMatchObject({ user_phone_number: DEMO_USERS.rejected, can_perform_action: 'true' })
    expect(checkSuccessEnvelope.Check(body)).toBe(false)
  })

  it('resets the socket without answering, after recording the request', async () => {
    const sim = await start()
    sim.setFault({ kind: 'reset' }, 1)
    const err = await get(sim, permissions(sim, `?user_phone_number=%2B919000000001`)).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(Error)
    // A TCP RST, not a graceful close (which undici would report as UND_ERR_SOCKET).
    expect((err as { code?: string }).code).toBe('ECONNRESET')
    expect(sim.requests[0]?.user).toEqual([DEMO_USERS.temporaryGranted])
    expect((await get(sim, permissions(sim))).status).toBe(200)
  })

  it('hangs until the client gives up', async () => {
    const sim = await start()
    sim.setFault({ kind: 'hang' }, 1)
    const url = `${sim.url}${permissions(sim)}`
    const err = await request(url, { headersTimeout: 200 }).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT')
  })

  it('ends hung requests on close', async () => {
    const sim = await start()
    sim.setFault({ kind: 'hang' })
    const pending = request(`${sim.url}${permissions(sim)}`).catch((e: unknown) => e)
    await expect.poll(() => sim.requests.length).toBe(1)
    await sim.close()
    expect(await pending).toBeInstanceOf(Error)
  })

  it('runs counted faults in FIFO order, then answers normally', async () => {
    const sim = await start()
    sim.setFault({ kind: 'status', status: 500 }, 1)
    sim.setFault({ kind: 'status', status: 502 }, 2)
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await get(sim, permissions(sim))).status)
    expect(statuses).toEqual([500, 502, 502, 200])
  })

  it('keeps a fault without a count until clearFault, counted faults first', async () => {
    const sim = await start()
    sim.setFault({ kind: 'status', status: 503 })
    sim.setFault({ kind: 'status', status: 500 }, 1)
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await get(sim, permissions(sim))).status)
    sim.clearFault()
    statuses.push((await get(sim, permissions(sim))).status)
    expect(statuses).toEqual([500, 503, 503, 200])
  })

  it('rejects a count that is not a positive integer', () => {
    const sim = createKaleyraSimulator()
    expect(() => sim.setFault({ kind: 'hang' }, 0)).toThrow(RangeError)
  })

  it('leaves other paths alone', async () => {
    const sim = await start()
    sim.setFault({ kind: 'status', status: 500 }, 1)
    expect((await get(sim, '/elsewhere')).status).toBe(404)
    expect((await get(sim, permissions(sim))).status).toBe(500)
  })
})

describe('hold', () => {
  const userOf = (text: string) => users(JSON.parse(text) as Envelope)

  it('answers a held request only on release, from the records as they are then', async () => {
    const sim = await start({ consents: [consent('+919000000001')] })
    const hold = sim.hold()
    let answered = false
    const pending = get(sim, permissions(sim, '?user_phone_number=%2B919000000001')).then((r) => {
      answered = true
      return r
    })
    await expect.poll(() => hold.requests.length).toBe(1)
    await new Promise((r) => setTimeout(r, 20))
    expect(answered).toBe(false)
    sim.remove(B, '+919000000001')
    expect(hold.release().map((q) => q.user)).toEqual([['+919000000001']])
    expect(userOf((await pending).text)).toEqual([])
    // Released holds hold nothing more: the next request is answered at once.
    expect((await get(sim, permissions(sim))).status).toBe(200)
    expect(hold.release()).toEqual([])
  })

  it('gives each request to the newest open hold', async () => {
    const sim = await start({ consents: [consent('+919000000001')] })
    const first = sim.hold()
    const a = get(sim, permissions(sim, '?offset=0'))
    await expect.poll(() => first.requests.length).toBe(1)
    const second = sim.hold()
    const b = get(sim, permissions(sim, '?offset=1'))
    await expect.poll(() => second.requests.length).toBe(1)
    second.release()
    expect((await b).status).toBe(200)
    const c = get(sim, permissions(sim, '?offset=2'))
    await expect.poll(() => first.requests.length).toBe(2)
    expect(first.release().map((q) => q.offset)).toEqual([0, 2])
    expect([(await a).status, (await c).status]).toEqual([200, 200])
  })

  it('drops held requests on close', async () => {
    const sim = await start()
    const hold = sim.hold()
    const pending = request(`${sim.url}${permissions(sim)}`).catch((e: unknown) => e)
    await expect.poll(() => hold.requests.length).toBe(1)
    await sim.close()
    expect(await pending).toBeInstanceOf(Error)
  })
})

describe('demoConsents', () => {
  it('seeds one record per outcome and never the noConsent user', () => {
    const seeded = demoConsents(NOW)
    const byUser = new Map(seeded.map((c) => [c.user, c]))
    expect(seeded).toHaveLength(6)
    expect(byUser.has(DEMO_USERS.noConsent)).toBe(false)
    expect(byUser.get(DEMO_USERS.temporaryGranted)).toMatchObject({
      is_permanent: false,
      expiresAt: NOW + 7 * 86_400_000,
    })
    expect(byUser.get(DEMO_USERS.permanentGranted)).toMatchObject({ is_permanent: true, expiresAt: null })
    expect(byUser.get(DEMO_USERS.rejected)).toMatchObject({ response: 'reject', can_perform_action: false })
    expect(byUser.get(DEMO_USERS.expired)).toMatchObject({
      can_perform_action: true,
      expiresAt: NOW - 86_400_000,
    })
    expect(byUser.get(DEMO_USERS.limitReached)).toMatchObject({
      response: 'accept',
      can_perform_action: false,
      expiresAt: NOW + 3 * 86_400_000,
      startCallLimitResetsAt: NOW + 6 * 3_600_000,
    })
    expect(byUser.get(DEMO_USERS.bsuidGranted)).toMatchObject({ response: 'accept', is_permanent: true })
    expect(new Set(seeded.map((c) => c.business))).toEqual(new Set([DEMO_BUSINESS]))
  })
})

describe('demoChecks', () => {
  it.each(['kaleyra', 'meta'] as const)('names each demo user once for %s', (upstream) => {
    const checks = demoChecks(upstream)
    expect(checks.map((c) => c.user).sort()).toEqual(Object.values(DEMO_USERS).sort())
    expect(checks.every((c) => /^[a-z_]+\b/.test(c.expect))).toBe(true)
  })

  it('tells the upstreams apart where their answers differ', () => {
    const reasonFor = (upstream: 'kaleyra' | 'meta', user: string) =>
      demoChecks(upstream).find((c) => c.user === user)?.expect
    expect(reasonFor('kaleyra', DEMO_USERS.rejected)).toBe('consent_rejected')
    expect(reasonFor('meta', DEMO_USERS.rejected)).toMatch(/^no_consent/)
    expect(reasonFor('kaleyra', DEMO_USERS.bsuidGranted)).toMatch(/^identity_unresolved/)
    expect(reasonFor('meta', DEMO_USERS.bsuidGranted)).toMatch(/^consent_granted/)
    expect(reasonFor('meta', DEMO_USERS.limitReached)).toContain('retry_at')
  })
})

describe('simulator main', () => {
  it('logs both APIs without the api key or the token and exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/main.ts'], {
      env: {
        ...process.env,
        SIMULATOR_PORT: '0',
        KALEYRA_API_KEY: 'super-secret-key',
        META_ACCESS_TOKEN: 'super-secret-meta-token',
        META_WABA_ID: '42',
        SIMULATOR_SEED: 'demo',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
    await expect.poll(() => out, { timeout: 10_000 }).toMatch(/http:\/\/127\.0\.0\.1:\d+/)
    const base = /http:\/\/127\.0\.0\.1:\d+/.exec(out)?.[0] ?? ''
    const res = await request(`${base}/v2/HXSIM00000000001IN/whatsapp/call_permissions`, {
      headers: { 'api-key': 'super-secret-key' },
    })
    const body = (await res.body.json()) as Envelope
    expect(body.total).toBe(5)
    await expect.poll(() => out).toContain('/v23.0/42/phone_numbers (+918000000001=1918000000001)')
    const graph = await request(
      `${base}/v23.0/1918000000001/call_permissions?recipient=IN.9000000000000000007`,
      {
        headers: { authorization: 'Bearer super-secret-meta-token' },
      },
    )
    expect(((await graph.body.json()) as { permission: unknown }).permission).toEqual({ status: 'permanent' })
    child.kill('SIGTERM')
    const [code] = (await once(child, 'exit')) as [number | null]
    expect(code).toBe(0)
    expect(out).not.toContain('super-secret')
    expect(out.trim().split('\n')).toHaveLength(2)
  })
})
