import { afterEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { createKaleyraSimulator, type KaleyraSimulator } from '../../src/simulator/simulator.js'
import { BUSINESS, T0, grant, reject, useGates, type Harness } from '../helpers/gate.js'
import { REDIS_URL, freePort, freshPrefix, ownRedis } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { kaleyraBody, post, replyMessage } from '../helpers/webhooks.js'
import { allowDecision } from '../helpers/decisions.js'

/** Issue 11 in shared mode: every Redis read and write is ordered by fact time (docs/consent-ordering.md). */
const USER = '+919000000001'
const KEY = `${BUSINESS}|${USER}`
const BEARER = 'kaleyra-callback-token-0123'
const REJECT = reject(USER)

let cleanups: Array<() => Promise<unknown> | void> = []
afterEach(async () => {
  for (const c of cleanups.reverse()) await c()
  cleanups = []
})
// Registered after the hook above, so the gates close before their Redis, proxy and clients go.
const gates = useGates()

async function sharedGate(
  sim: KaleyraSimulator,
  url: string,
  prefix: string,
  env: Record<string, string> = {},
) {
  const g = await gates.start({
    sim,
    env: { REDIS_URL: url, REDIS_KEY_PREFIX: prefix, WEBHOOK_BEARER_TOKEN: BEARER, ...env },
    logLevel: 'warn',
  })
  await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 10_000)
  return g
}

async function simulator(consents = [REJECT]) {
  const sim = createKaleyraSimulator({ consents })
  await sim.listen(0)
  return sim
}

const webhook = (g: Harness, reply: Parameters<typeof replyMessage>[0]) =>
  post(`${g.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, [replyMessage(reply)]), {
    authorization: `Bearer ${BEARER}`,
  })

function admin(url: string) {
  const client = new Redis(url)
  cleanups.push(() => client.disconnect())
  return client
}

describe.skipIf(!REDIS_URL)('ordering across the fleet', () => {
  const url = REDIS_URL ?? ''

  it('does not take a Redis decision older than a fact this gate knows', async () => {
    const prefix = freshPrefix()
    const g = await sharedGate(await simulator(), url, prefix, { CACHE_NEGATIVE_TTL_SECONDS: '0' })
    g.clock.advance(5000)
    expect(
      (await webhook(g, { id: `r-${prefix}`, user: USER, at: T0 + 1000, response: 'reject' })).body.applied,
    ).toBe(1)
    // As if the event's write had been lost and an older allow were still in Redis.
    const redis = admin(url)
    await redis.del(`${prefix}f:${KEY}`)
    await redis.set(`${prefix}d:${KEY}`, JSON.stringify(allowDecision(T0, null)), 'PX', 60_000)
    expect((await g.canCall(USER)).body).toMatchObject({ allowed: false, source: 'upstream' })
  })

  it('lets a newer Kaleyra deny replace an older event allow in Redis', async () => {
    const prefix = freshPrefix()
    const sim = await simulator([])
    const a = await sharedGate(sim, url, prefix)
    const b = await sharedGate(sim, url, prefix)
    expect(
      (
        await webhook(a, {
          id: `a-${prefix}`,
          user: USER,
          at: T0 - 1000,
          response: 'accept',
          permanent: true,
        })
      ).body.applied,
    ).toBe(1)
    sim.upsert(REJECT)
    b.clock.advance(5000)
    expect((await b.canCall(USER, '&fresh=true')).body.reason).toBe('consent_rejected')
    const stored = admin(url)
    await waitFor(
      async () => JSON.parse((await stored.get(`${prefix}d:${KEY}`)) ?? '{}').allowed === false,
      1000,
    )
    const late = await sharedGate(sim, url, prefix)
    late.clock.advance(6000)
    expect((await late.canCall(USER)).body).toMatchObject({ allowed: false, source: 'cache' })
  })

  it('keeps an accept older than a fact Redis holds from granting on any gate', async () => {
    const prefix = freshPrefix()
    const sim = await simulator()
    const a = await sharedGate(sim, url, prefix)
    const b = await sharedGate(sim, url, prefix, { CACHE_NEGATIVE_TTL_SECONDS: '0' })
    a.clock.advance(10_000)
    expect((await a.canCall(USER)).body.reason).toBe('consent_rejected')
    // Gate B never saw Kaleyra's answer itself; Redis holds it as the pair's newest fact.
    b.clock.advance(10_000)
    const res = await webhook(b, {
      id: `l-${prefix}`,
      user: USER,
      at: T0 + 5000,
      response: 'accept',
      permanent: true,
    })
    expect(res.body).toMatchObject({ applied: 0, outdated: 1 })
  })

  it('after Redis lost its keys, trusts an old accept only within the window', async () => {
    const port = await freePort()
    let redis = await ownRedis(port)
    cleanups.push(() => redis.stop())
    const prefix = freshPrefix()
    const g = await sharedGate(await simulator(), redis.url, prefix, { EVENT_TRUST_WINDOW_SECONDS: '60' })
    await redis.stop()
    redis = await ownRedis(port)
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 10_000)
    g.clock.advance(600_000)
    const old = await webhook(g, {
      id: `o-${prefix}`,
      user: USER,
      at: T0 + 60_000,
      response: 'accept',
      permanent: true,
    })
    expect(old.body).toMatchObject({ applied: 0, outdated: 1 })
    expect((await g.canCall(USER)).body).toMatchObject({ allowed: false, source: 'upstream' })
  })

  it('retries an event write, counts the loss when Redis stays down, and still applies the event here', async () => {
    const port = await freePort()
    const redis = await ownRedis(port)
    const g = await sharedGate(await simulator([grant(USER)]), redis.url, freshPrefix())
    await redis.stop()
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'degraded', 3000)
    const res = await webhook(g, { id: 'down', user: USER, at: T0, response: 'reject' })
    expect(res.body.applied).toBe(1)
    expect((await g.canCall(USER)).body.reason).toBe('consent_rejected')
    const scrape = (await g.get('/metrics')).body as string
    expect(scrape).toMatch(/^consent_gate_redis_lost_writes_total\{op="write"\} 1$/m)
    expect(scrape).toMatch(/^consent_gate_redis_errors_total\{op="write"\} 3$/m)
  })

  it('notices a subscription that stops delivering without closing, and stops trusting cached allows', async () => {
    const target = new URL(url)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
    cleanups.push(() => proxy.close())
    const sim = await simulator([grant(USER)])
    const g = await sharedGate(sim, `redis://127.0.0.1:${proxy.port}`, freshPrefix())
    expect((await g.canCall(USER)).body).toMatchObject({ allowed: true, source: 'upstream' })
    expect((await g.canCall(USER)).body.source).toBe('cache')
    proxy.freeze()
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'degraded', 6000, 100)
    expect((await g.get('/metrics')).body).toContain('consent_gate_redis_up 0')
    const before = sim.requests.length
    expect((await g.canCall(USER)).body).toMatchObject({ allowed: true, source: 'upstream' })
    expect(sim.requests.length).toBe(before + 1)
    proxy.thaw()
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 6000, 100)
  })
})
