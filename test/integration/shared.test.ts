import { afterEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createKaleyraSimulator, type KaleyraSimulator } from '../../src/simulator/simulator.js'
import { BUSINESS, T0, grant, reject, useGates, type Harness } from '../helpers/gate.js'
import { REDIS_URL, freePort, freshPrefix, ownRedis } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, post, replyMessage } from '../helpers/webhooks.js'
import { allowDecision } from '../helpers/decisions.js'

const USER = '+919000000001'
const BEARER = 'kaleyra-callback-token-0123'

let sim: KaleyraSimulator
let stops: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const stop of stops) await stop()
  stops = []
})
// Registered after the hook above, so the gates close before their Redis stops.
const gates = useGates()

let currentPrefix = ''

/** Two sidecars sharing one Redis and one Kaleyra. */
async function twoGates(url: string, env: Record<string, string> = {}) {
  sim = createKaleyraSimulator({ consents: [grant(USER), grant('+919000000002')] })
  await sim.listen(0)
  currentPrefix = freshPrefix()
  const shared = { REDIS_URL: url, REDIS_KEY_PREFIX: currentPrefix, WEBHOOK_BEARER_TOKEN: BEARER, ...env }
  const a = await gates.start({ sim, env: shared, logLevel: 'warn' })
  const b = await gates.start({ sim, env: shared, logLevel: 'warn' })
  // Connected means a gate hears its own heartbeat through the subscription that brings the other's events.
  await waitFor(async () => (await a.get('/readyz')).body.shared.mode === 'connected', 10_000)
  await waitFor(async () => (await b.get('/readyz')).body.shared.mode === 'connected', 10_000)
  return [a, b] as const
}

describe.skipIf(!REDIS_URL)('shared tier on Redis', () => {
  const url = REDIS_URL ?? ''

  it('answers on gate B what gate A fetched, without asking Kaleyra again', async () => {
    const [a, b] = await twoGates(url)
    expect((await a.canCall(USER)).body).toMatchObject({ allowed: true, source: 'upstream' })
    expect((await b.canCall(USER)).body).toMatchObject({ allowed: true, source: 'cache' })
    expect(sim.requests).toHaveLength(1)
  })

  it('makes gate B deny within 100 ms of a reject webhook to gate A', async () => {
    const [a, b] = await twoGates(url)
    await b.canCall(USER)
    const reply = replyMessage({ id: `r-${Date.now()}`, user: USER, at: T0 + 1000, response: 'reject' })
    const sent = performance.now()
    await post(`${a.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, [reply]), {
      authorization: `Bearer ${BEARER}`,
    })
    await waitFor(async () => (await b.canCall(USER)).body.reason === 'consent_rejected', 1000, 5)
    expect(performance.now() - sent).toBeLessThan(100 + 50)
    expect((await b.canCall(USER)).body).toMatchObject({ allowed: false, source: 'event' })
  })

  it('adds up unanswered streaks across gates', async () => {
    const [a, b] = await twoGates(url, { UNANSWERED_STREAK_LIMIT: '3' })
    const report = (g: Harness) =>
      post(`${g.url}/call-outcomes`, { business: BUSINESS, user: USER, outcome: 'unanswered' })
    await report(a)
    await report(b)
    expect((await report(a)).body.results[0]).toMatchObject({ unanswered_streak: 3, blocked: true })
    await waitFor(async () => (await b.canCall(USER)).body.reason === 'unanswered_streak', 1000)
    expect((await a.canCall(USER)).body.reason).toBe('unanswered_streak')
  })

  it('skips the shared cache too with fresh=true', async () => {
    const [a, b] = await twoGates(url)
    await a.canCall(USER)
    expect((await b.canCall(USER, '&fresh=true')).body).toMatchObject({ source: 'upstream' })
    expect(sim.requests).toHaveLength(2)
  })

  it('knows the fleet streak on a gate that started after the calls were reported', async () => {
    const [a] = await twoGates(url, { UNANSWERED_STREAK_LIMIT: '2' })
    for (let i = 0; i < 2; i++) {
      await post(`${a.url}/call-outcomes`, { business: BUSINESS, user: USER, outcome: 'unanswered' })
    }
    const late = await gates.start({
      sim,
      env: { REDIS_URL: url, REDIS_KEY_PREFIX: currentPrefix, UNANSWERED_STREAK_LIMIT: '2' },
      logLevel: 'warn',
    })
    await waitFor(async () => (await late.get('/readyz')).body.shared.mode === 'connected', 10_000)
    expect((await late.canCall(USER)).body.reason).toBe('unanswered_streak')
  })

  it('carries an admin eviction to every gate', async () => {
    const [a, b] = await twoGates(url, { ADMIN_API_TOKEN: 'admin-token-0123456789abc' })
    await a.canCall(USER)
    await b.canCall(USER)
    const { request } = await import('undici')
    await request(`${a.url}/cache?business=%2B918000000001`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer admin-token-0123456789abc' },
    })
    await waitFor(async () => (await b.canCall(USER)).body.source === 'upstream', 1000)
  })

  it('dedupes a webhook delivered to both gates', async () => {
    const [a, b] = await twoGates(url)
    const reply = replyMessage({ id: `d-${Date.now()}`, user: USER, at: T0, response: 'reject' })
    const body = kaleyraBody(BUSINESS, [reply])
    const auth = { authorization: `Bearer ${BEARER}` }
    expect((await post(`${a.url}/webhooks/kaleyra`, body, auth)).body.applied).toBe(1)
    expect((await post(`${b.url}/webhooks/kaleyra`, body, auth)).body).toMatchObject({
      applied: 0,
      duplicates: 1,
    })
  })

  it('spends one upstream request on 50 concurrent checks of one cold pair spread over both gates', async () => {
    const [a, b] = await twoGates(url)
    sim.setFault({ kind: 'latency', ms: 100 })
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).canCall(USER)))
    expect(answers.every((r) => r.status === 200 && r.body.allowed === true)).toBe(true)
    expect(sim.requests).toHaveLength(1)
  })

  it('never lets a Redis TTL outlive the consent expiry', async () => {
    const prefix = freshPrefix()
    sim = createKaleyraSimulator({ consents: [grant(USER, { expiresAt: T0 + 60_000 })] })
    await sim.listen(0)
    const g = await gates.start({
      sim,
      env: { REDIS_URL: url, REDIS_KEY_PREFIX: prefix, CACHE_MAX_TTL_SECONDS: '3600' },
    })
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 10_000)
    await g.canCall(USER)
    await g.canCall('+919000000009')
    const admin = new Redis(url)
    try {
      await waitFor(async () => (await admin.pttl(`${prefix}d:${BUSINESS}|${USER}`)) > 0, 1000)
      const allow = await admin.pttl(`${prefix}d:${BUSINESS}|${USER}`)
      expect(allow).toBeLessThanOrEqual(60_000)
      expect(allow).toBeGreaterThan(55_000)
      const deny = await admin.pttl(`${prefix}d:${BUSINESS}|+919000000009`)
      expect(deny).toBeLessThanOrEqual(30_000)
      expect(deny).toBeGreaterThan(25_000)
    } finally {
      admin.disconnect()
    }
  })

  it('never takes a shared allow past its consent expiry, whatever its Redis TTL says', async () => {
    const prefix = freshPrefix()
    sim = createKaleyraSimulator({
      consents: [reject(USER)],
    })
    await sim.listen(0)
    const g = await gates.start({ sim, env: { REDIS_URL: url, REDIS_KEY_PREFIX: prefix } })
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 10_000)
    const admin = new Redis(url)
    try {
      // As a gate whose clock runs behind would have written it: an allow that expired a second ago.
      const expired = allowDecision(T0 - 60_000, T0 - 1000)
      await admin.set(`${prefix}d:${BUSINESS}|${USER}`, JSON.stringify(expired), 'PX', 60_000)
      expect((await g.canCall(USER)).body).toMatchObject({
        allowed: false,
        reason: 'consent_rejected',
        source: 'upstream',
      })
    } finally {
      admin.disconnect()
    }
  })

  it('never logs REDIS_URL or its password', async () => {
    const password = 'redis-password-s3cr3t'
    const withPassword = url.replace('redis://', `redis://default:${password}@`)
    sim = createKaleyraSimulator({ consents: [grant(USER)] })
    await sim.listen(0)
    const g = await gates.start({
      sim,
      env: { REDIS_URL: withPassword, REDIS_KEY_PREFIX: freshPrefix() },
      logLevel: 'trace',
    })
    expect((await g.canCall(USER)).body).toMatchObject({ allowed: true, source: 'upstream' })
    // The lines of connecting with the password are written too (this Redis takes any: no requirepass).
    await waitFor(() => g.logs.text().includes('redis connected'), 10_000)
    expect(g.logs.lines.length).toBeGreaterThan(0)
    expect(g.logs.text()).not.toContain(password)
    expect(g.logs.text()).not.toContain(withPassword)
  })

  it('keeps answering through a slow Redis, with bounded extra latency', async () => {
    const [a] = await twoGates(url, { REDIS_TIMEOUT_MS: '50' })
    const admin = new Redis(url)
    try {
      await admin.client('PAUSE', 1000, 'ALL')
      const started = performance.now()
      const res = await a.canCall('+919000000002')
      expect(res.body).toMatchObject({ allowed: true, source: 'upstream' })
      expect(performance.now() - started).toBeLessThan(400)
    } finally {
      await admin.client('UNPAUSE').catch(() => undefined)
      admin.disconnect()
    }
  })

  it('goes on without Redis, shows it, applies events locally, and resumes shared mode when Redis returns', async () => {
    const port = await freePort()
    let redis = await ownRedis(port)
    stops.push(() => redis.stop())
    const [a, b] = await twoGates(redis.url)
    await redis.stop()
    await waitFor(async () => (await a.get('/readyz')).body.shared.mode === 'degraded', 3000)
    const ready = await a.get('/readyz')
    expect(ready.status).toBe(200)
    expect((await a.get('/metrics')).body).toContain('consent_gate_redis_up 0')

    const started = performance.now()
    expect((await a.canCall(USER)).body).toMatchObject({ allowed: true, source: 'upstream' })
    expect(performance.now() - started).toBeLessThan(500)
    const reply = replyMessage({
      id: `o-${Date.now()}`,
      user: '+919000000002',
      at: T0 + 1000,
      response: 'reject',
    })
    const res = await post(`${a.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, [reply]), {
      authorization: `Bearer ${BEARER}`,
    })
    expect(res.body.applied).toBe(1)
    expect((await a.canCall('+919000000002')).body.reason).toBe('consent_rejected')

    redis = await ownRedis(port)
    await waitFor(async () => (await a.get('/readyz')).body.shared.mode === 'connected', 5000)
    await waitFor(async () => (await b.get('/readyz')).body.shared.mode === 'connected', 5000)
    expect((await a.get('/metrics')).body).toContain('consent_gate_redis_up 1')
    const before = sim.requests.length
    await a.canCall('+919000000003')
    expect((await b.canCall('+919000000003')).body.source).toBe('cache')
    expect(sim.requests.length).toBe(before + 1)
  })
})
