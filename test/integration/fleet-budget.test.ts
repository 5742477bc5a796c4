// One budget per fleet (issue 14): UPSTREAM_FLEET_MAX_RPS is one GCRA on Redis that every gate asks before each
// Kaleyra request; a gate that cannot reach it uses its own UPSTREAM_MAX_RPS at once. Needs REDIS_URL.
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { createFleetBudget } from '../../src/shared/fleet-budget.js'
import { createKaleyraSimulator } from '../../src/simulator/simulator.js'
import { useGates, type Harness } from '../helpers/gate.js'
import { REDIS_URL, freePort, freshPrefix } from '../helpers/redis.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { waitFor } from '../helpers/wait.js'

const proxies: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()))
})
const gates = useGates()

const cold = (series: number, n: number) =>
  Array.from({ length: n }, (_, i) => `+91${series}${String(i).padStart(8, '0')}`)

const connected = (h: Harness) =>
  waitFor(async () => (await h.get('/readyz')).body.shared?.mode === 'connected', 10_000)

async function fallbacks(h: Harness): Promise<number> {
  const text = (await h.get('/metrics')).body as string
  const line = text.split('\n').find((l) => l.startsWith('consent_gate_upstream_fleet_fallbacks_total '))
  return Number(line?.split(' ')[1])
}

describe.runIf(REDIS_URL)('UPSTREAM_FLEET_MAX_RPS: one budget for every gate on the Redis', () => {
  it('lets the simulator see at most the fleet rate plus one burst in any second, from three gates', async () => {
    const FLEET_RPS = 10
    const sim = createKaleyraSimulator()
    await sim.listen(0)
    const env = {
      REDIS_URL: REDIS_URL!,
      REDIS_KEY_PREFIX: freshPrefix(),
      UPSTREAM_FLEET_MAX_RPS: String(FLEET_RPS),
      // Each gate alone may ask five times as fast: only the fleet budget holds them to 10 together.
      UPSTREAM_MAX_RPS: '50',
      BATCH_WINDOW_MS: '0',
      UPSTREAM_TIMEOUT_MS: '2000',
      CHECK_DEADLINE_MS: '8000',
      // Three gates, the simulator and the test share one event loop here: a tight bound would fall back spuriously.
      REDIS_TIMEOUT_MS: '500',
    }
    // The checks go out the moment each gate listens, its fleet connection perhaps still opening: gates starting
    // together (or after a Redis blip) must not each fall back with a burst of their own.
    const users = cold(72, 45)
    const three: Harness[] = []
    const started = performance.now()
    const answers = (
      await Promise.all(
        [0, 1, 2].map(async (g) => {
          const gate = await gates.start({ sim, env, logLevel: 'warn' })
          three.push(gate)
          return Promise.all(users.filter((_, i) => i % 3 === g).map((u) => gate.canCall(u)))
        }),
      )
    ).flat()
    const ms = performance.now() - started
    expect(answers.map((a) => a.status)).toEqual(users.map(() => 200))
    const times = sim.requests.map((r) => r.receivedAtMs).sort((a, b) => a - b)
    expect(times).toHaveLength(45)
    const busiest = Math.max(...times.map((t) => times.filter((o) => o >= t && o < t + 1000).length))
    expect(busiest).toBeLessThanOrEqual(FLEET_RPS + FLEET_RPS)
    // 45 requests at 10 a second after a burst of 10: about 3.5 s, where the gates' own budgets took no time.
    expect(ms).toBeGreaterThan(3000)
    for (const g of three) expect(await fallbacks(g)).toBe(0)
    await sim.close()
  }, 20_000)

  it("falls back to the gate's own rate within REDIS_TIMEOUT_MS when Redis stops answering", async () => {
    const target = new URL(REDIS_URL!)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) })
    proxies.push(proxy)
    const h = await gates.start({
      logLevel: 'warn',
      env: {
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        REDIS_KEY_PREFIX: freshPrefix(),
        // One a second fleet-wide: five checks would take four seconds if the gate kept waiting for Redis.
        UPSTREAM_FLEET_MAX_RPS: '1',
        BATCH_WINDOW_MS: '0',
        UPSTREAM_TIMEOUT_MS: '2000',
      },
    })
    await connected(h)
    expect((await h.canCall('+919100000001')).status).toBe(200)
    proxy.freeze()
    const started = performance.now()
    const answers = await Promise.all(cold(73, 5).map((u) => h.canCall(u)))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200])
    expect(performance.now() - started).toBeLessThan(1000)
    expect(await fallbacks(h)).toBeGreaterThanOrEqual(1)
  })

  it('answers at once, never stalls, when Redis cannot be reached at all', async () => {
    const h = await gates.start({
      logLevel: 'warn',
      env: {
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        UPSTREAM_FLEET_MAX_RPS: '1',
        BATCH_WINDOW_MS: '0',
      },
    })
    const started = performance.now()
    const answers = await Promise.all(cold(74, 5).map((u) => h.canCall(u)))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200])
    expect(performance.now() - started).toBeLessThan(1000)
    expect(await fallbacks(h)).toBeGreaterThanOrEqual(1)
  })
})

describe.runIf(REDIS_URL)('createFleetBudget: GCRA on Redis', () => {
  const open: { close(): void }[] = []
  afterEach(() => {
    for (const f of open.splice(0)) f.close()
  })
  const fleet = (over: Partial<Parameters<typeof createFleetBudget>[0]> = {}) => {
    const f = createFleetBudget({
      url: REDIS_URL!,
      prefix: freshPrefix(),
      maxRps: 10,
      bulkShare: 0.5,
      timeoutMs: 50,
      ...over,
    })
    open.push(f)
    return f
  }
  /** The first ask may meet a connection still opening: wait until Redis answers. */
  const ready = async (f: ReturnType<typeof fleet>) => {
    for (let i = 0; i < 100; i++) {
      try {
        return await f.acquire('live')
      } catch {
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    throw new Error('redis never answered')
  }

  it('grants a burst of the rate to gates sharing the key, then says how long to wait', async () => {
    const prefix = freshPrefix()
    const [a, b] = [fleet({ prefix }), fleet({ prefix })]
    const before = performance.now()
    expect(await ready(a)).toBe(0)
    await ready(b).then((w) => expect(w).toBe(0))
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).acquire('live')))
    expect(answers).toEqual(Array(8).fill(0))
    const wait = await a.acquire('live')
    // One interval (100 ms) after the first grant, less the time the asks took, however loaded the machine.
    expect(wait).toBeLessThanOrEqual(100)
    expect(wait).toBeGreaterThanOrEqual(Math.min(1, 100 - (performance.now() - before)))
  })

  it('answers the first ask while the connection is still opening, instead of failing it', async () => {
    const f = fleet({ timeoutMs: 500 })
    expect(await f.acquire('live')).toBe(0)
  })

  it('gives a start back: the next ask is granted at once, not an interval later', async () => {
    const f = fleet({ maxRps: 1, timeoutMs: 500 })
    expect(await ready(f)).toBe(0)
    expect(await f.acquire('live')).toBeGreaterThan(500)
    f.release?.('live')
    await waitFor(async () => (await f.acquire('live')) === 0, 300)
  })

  it('caps the stored time after a failover to a Redis whose clock is behind', async () => {
    const prefix = freshPrefix()
    const f = fleet({ prefix })
    expect(await ready(f)).toBe(0)
    const raw = new Redis(REDIS_URL!)
    try {
      const [sec, usec] = await raw.time()
      // An hour ahead of this Redis's clock, as a replica an hour behind would find it.
      await raw.set(
        `${prefix}fleet-budget`,
        String(Number(sec) * 1000 + Number(usec) / 1000 + 3_600_000),
        'PX',
        60_000,
      )
    } finally {
      raw.disconnect()
    }
    const wait = await f.acquire('live')
    expect(wait).toBeLessThanOrEqual(100)
  })

  it('stops bulk at its share of the burst while live checks still start', async () => {
    const f = fleet()
    expect(await ready(f)).toBe(0)
    const bulk = []
    for (let i = 0; i < 5; i++) bulk.push(await f.acquire('bulk'))
    expect(bulk.slice(0, 4)).toEqual([0, 0, 0, 0])
    expect(bulk[4]).toBeGreaterThan(0)
    for (let i = 0; i < 5; i++) expect(await f.acquire('live')).toBe(0)
  })

  it('rejects at once when Redis cannot be reached, so the gate falls back without stalling', async () => {
    const f = fleet({ url: `redis://127.0.0.1:${await freePort()}` })
    const started = performance.now()
    await expect(f.acquire('live')).rejects.toThrow()
    expect(performance.now() - started).toBeLessThan(50)
  })
})
