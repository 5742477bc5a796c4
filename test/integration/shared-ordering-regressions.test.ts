import { afterEach, describe, expect, it } from 'vitest'
import { request } from 'undici'
import pino from 'pino'
import { createManualClock } from '../../src/lib/clock.js'
import { createSharedTier } from '../../src/shared/redis-tier.js'
import { allowDecision } from '../helpers/decisions.js'
import { Redis } from 'ioredis'
import {
  createKaleyraSimulator,
  type KaleyraSimulator,
  type SimConsent,
} from '../../src/simulator/simulator.js'
import { BUSINESS, T0, grant, reject, useGates, type Harness } from '../helpers/gate.js'
import { REDIS_URL, freshPrefix } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, post, replyMessage } from '../helpers/webhooks.js'

const USER = '+919000000001'
const KEY = `${BUSINESS}|${USER}`
const BEARER = 'kaleyra-callback-token-0123'
const ADMIN = 'admin-token-0123456789abc'
const REJECT = reject(USER)

let cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.reverse()) await c()
  cleanups = []
})
// Registered after the hook above, so the gates close before the simulators and clients go.
const gates = useGates()
async function sharedGate(sim: KaleyraSimulator, prefix: string, env: Record<string, string> = {}) {
  const g = await gates.start({
    sim,
    env: {
      REDIS_URL: REDIS_URL!,
      REDIS_KEY_PREFIX: prefix,
      WEBHOOK_BEARER_TOKEN: BEARER,
      ADMIN_API_TOKEN: ADMIN,
      ...env,
    },
    logLevel: 'warn',
  })
  await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 10_000)
  return g
}
async function simulator(consents: SimConsent[]) {
  const sim = createKaleyraSimulator({ consents })
  await sim.listen(0)
  cleanups.push(() => sim.close().catch(() => undefined))
  return sim
}
const hook = (g: Harness, r: Parameters<typeof replyMessage>[0]) =>
  post(`${g.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, [replyMessage(r)]), {
    authorization: `Bearer ${BEARER}`,
  })
function admin() {
  const c = new Redis(REDIS_URL!)
  cleanups.push(() => c.disconnect())
  return c
}

describe.skipIf(!REDIS_URL)('ordering found by review: the fleet', () => {
  /** Kaleyra granted at T0+5 s (in Redis), then a reject dated T0+4 s arrives; Kaleyra learns of it too. */
  async function grantThenOlderReject(env: Record<string, string> = {}) {
    const prefix = freshPrefix()
    const sim = await simulator([grant(USER)])
    const g = await sharedGate(sim, prefix, env)
    g.clock.advance(5000)
    expect((await g.canCall(USER)).body.allowed).toBe(true)
    const r = admin()
    await waitFor(async () => (await r.exists(`${prefix}d:${KEY}`)) === 1, 2000)
    g.clock.advance(5000)
    const reply = { id: `rej-${prefix}`, user: USER, at: T0 + 4000, response: 'reject' }
    expect((await hook(g, reply)).body.applied).toBe(1)
    sim.upsert(REJECT)
    return g
  }

  it('does not serve from Redis an allow a later-arriving older reject overrode (CACHE_NEGATIVE_TTL_SECONDS=0)', async () => {
    const g = await grantThenOlderReject({ CACHE_NEGATIVE_TTL_SECONDS: '0' })
    expect((await g.canCall(USER)).body).toMatchObject({ allowed: false })
  })

  it('does not bring back the pre-reject allow from Redis once the deny TTL has passed', async () => {
    const g = await grantThenOlderReject()
    expect((await g.canCall(USER)).body.allowed).toBe(false)
    g.clock.advance(31_000)
    expect((await g.canCall(USER)).body).toMatchObject({ allowed: false })
  })
})

const del = (g: Harness, q = '') =>
  request(`${g.url}/cache${q}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } }).then(
    (r) => r.body.text(),
  )

describe.skipIf(!REDIS_URL)('review: shared floor', () => {
  it('never moves the fleet eviction floor back for a gate whose clock is behind', async () => {
    const prefix = freshPrefix()
    const sim = await simulator([])
    const b = await sharedGate(sim, prefix) // clock at T0
    await b.canCall(USER) // creates `since` at T0
    const a = await sharedGate(sim, prefix)
    a.clock.advance(100_000)
    await del(a) // everything: nothing before T0+100s grants
    await del(b, `?business=${encodeURIComponent(BUSINESS)}`) // B's clock says T0
    expect(Number(await admin().get(`${prefix}floor`))).toBeGreaterThanOrEqual(T0 + 100_000)
  })

  it('keeps a gate started later from granting an accept dated before a DELETE /cache', async () => {
    const prefix = freshPrefix()
    const sim = await simulator([])
    const b = await sharedGate(sim, prefix)
    await b.canCall(USER)
    const a = await sharedGate(sim, prefix)
    a.clock.advance(100_000)
    await del(a)
    await del(b, `?business=${encodeURIComponent(BUSINESS)}`)
    const d = await sharedGate(sim, prefix, { EVENT_TRUST_WINDOW_SECONDS: '60' })
    d.clock.advance(200_000)
    const res = await hook(d, {
      id: `acc-${prefix}`,
      user: USER,
      at: T0 + 60_000,
      response: 'accept',
      permanent: true,
    })
    expect(res.body.applied).toBe(0)
    expect((await d.canCall(USER)).body.allowed).toBe(false)
  })
})

describe.skipIf(!REDIS_URL)('ordering found by review: a Kaleyra grant asked before an eviction', () => {
  it('orders it in Redis by when it was asked, so no gate answers it after the eviction', async () => {
    const prefix = freshPrefix()
    const sim = await simulator([grant(USER)])
    const a = await sharedGate(sim, prefix)
    expect((await a.canCall(USER)).body.allowed).toBe(true)
    // Gate B asks Kaleyra at T0 (slow). Meanwhile, at T0+100, A learns 138006.
    a.clock.advance(100)
    await post(`${a.url}/call-outcomes`, {
      business: BUSINESS,
      user: USER,
      outcome: 'failed',
      error_code: 138006,
    })
    sim.upsert(REJECT)
    // B's answer, asked at T0, arrives at T0+300 just before B hears A's eviction: B writes it as lookup.ts does.
    const b = createSharedTier({
      url: REDIS_URL ?? '',
      prefix,
      timeoutMs: 500,
      lockMs: 1000,
      trustWindowMs: 300_000,
      memoryMs: 7 * 86_400_000,
      clock: createManualClock(T0 + 300),
      logger: pino({ level: 'silent' }),
    })
    cleanups.push(() => b.close())
    await waitFor(() => b.up, 5000)
    const grantAnswer = allowDecision(T0 + 300, T0 + 86_400_000)
    expect(await b.writeFact(KEY, grantAnswer, 300_000, 'upstream', T0)).toBe('outdated')
    a.clock.advance(1000)
    const before = sim.requests.length
    expect((await a.canCall(USER)).body).toMatchObject({ allowed: false, source: 'upstream' })
    expect(sim.requests.length - before).toBe(1)
  })
})
