// Real gates driven through every answer the dashboard and alerts look for, then scraped: every reason of
// /can-call, each cache result, upstream outcomes, webhook and call-outcome events (refused ones too), evictions
// at the memory bounds, a shed check and, with REDIS_URL, the shared tier. What they export is what a panel or
// an alert may use.
import { createMetrics } from '../../src/observability/metrics.js'
import { demoConsents, DEMO_USERS } from '../../src/simulator/seed.js'
import { createKaleyraSimulator } from '../../src/simulator/simulator.js'
import { BUSINESS, T0, startHarness, type Harness } from './gate.js'
import { emptyExposition, readExposition, type Exposition } from './promql.js'
import { REDIS_URL, freshPrefix } from './redis.js'
import { waitFor } from './wait.js'
import { kaleyraBody, metaBody, post, replyMessage, sign } from './webhooks.js'

const BEARER = 'kaleyra-callback-token-0123'
const META_SECRET = 'meta-app-secret-0123456789'
const UNKNOWN = '+919000000077'

async function scrape(h: Harness, into: Exposition): Promise<void> {
  // onResponse counters run after each answer is sent: one scrape first lets the last ones land.
  await h.get('/metrics')
  readExposition((await h.get('/metrics')).body as string, into)
}

/** Every decision reason, cache hit/miss/coalesced, upstream ok/error/auth_failed, events, evictions. */
async function exerciseAlone(into: Exposition): Promise<void> {
  const h = await startHarness({
    consents: demoConsents(T0, BUSINESS),
    logLevel: 'silent',
    deps: { defaultMetrics: true },
    env: {
      UPSTREAM_RETRIES: '0',
      // One entry: the second blocked pair pushes the first out of the streak memory (and the cache evicts).
      CACHE_MAX_ENTRIES: '1',
      UNANSWERED_STREAK_LIMIT: '3',
      WEBHOOK_BEARER_TOKEN: BEARER,
      META_APP_SECRET: META_SECRET,
    },
  })
  try {
    for (const user of Object.values(DEMO_USERS)) await h.canCall(user)
    await h.canCall(DEMO_USERS.temporaryGranted)
    await h.canCall(DEMO_USERS.temporaryGranted) // hit
    h.sim.setFault({ kind: 'latency', ms: 50 }, 1)
    await Promise.all([1, 2, 3].map(() => h.canCall(DEMO_USERS.permanentGranted))) // miss + coalesced
    await h.get('/can-call?business=bad&user=bad') // invalid_request
    h.sim.setFault({ kind: 'status', status: 500 }, 1)
    await h.canCall(UNKNOWN) // upstream_unavailable
    h.sim.setFault({ kind: 'status', status: 401 }, 1)
    await h.canCall(UNKNOWN) // upstream_auth_failed
    const report = (user: string) =>
      post(`${h.url}/call-outcomes`, { business: BUSINESS, user, outcome: 'unanswered' })
    for (let i = 0; i < 3; i++) await report(DEMO_USERS.temporaryGranted)
    await h.canCall(DEMO_USERS.temporaryGranted) // unanswered_streak
    for (let i = 0; i < 3; i++) await report(DEMO_USERS.permanentGranted) // evicts the first blocked pair
    const reply = replyMessage({ id: 'obs-1', user: UNKNOWN, at: T0, response: 'reject' })
    const kaleyra = kaleyraBody(BUSINESS, [reply])
    await post(`${h.url}/webhooks/kaleyra`, kaleyra, { authorization: `Bearer ${BEARER}` })
    await post(`${h.url}/webhooks/kaleyra`, kaleyra, { authorization: 'Bearer not-the-token-000000' })
    await post(`${h.url}/webhooks/meta`, JSON.stringify(metaBody(BUSINESS, [reply])), {
      'x-hub-signature-256': sign('forged', META_SECRET),
    })
    await post(`${h.url}/can-call/batch`, { checks: [{ business: BUSINESS, user: UNKNOWN }] })
    await h.get('/healthz')
    await h.get('/readyz')
    await scrape(h, into)
  } finally {
    await h.close()
  }
}

/** UPSTREAM=meta with discovery under a WABA: its phone number gauge and discovery failure counter. */
async function exerciseMeta(into: Exposition): Promise<void> {
  const sim = createKaleyraSimulator({ consents: demoConsents(T0, BUSINESS) })
  await sim.listen(0)
  const h = await startHarness({
    sim,
    upstream: 'meta',
    logLevel: 'silent',
    env: { META_PHONE_NUMBERS: '', META_WABA_ID: sim.wabaId },
  })
  try {
    await h.canCall(DEMO_USERS.limitReached)
    await scrape(h, into)
  } finally {
    await h.close()
  }
}

/** A check shed at once: the heap threshold of 1 byte is always exceeded. */
async function exerciseShedding(into: Exposition): Promise<void> {
  const h = await startHarness({
    logLevel: 'silent',
    env: { SHED_MAX_HEAP_USED_BYTES: '1' },
    deps: { shedSampleIntervalMs: 5 },
  })
  try {
    await waitFor(async () => (await h.canCall(DEMO_USERS.temporaryGranted)).status === 503, 2000)
    await scrape(h, into)
  } finally {
    await h.close()
  }
}

/** Two gates on one Redis: the second answers from the shared tier what the first fetched. */
async function exerciseShared(url: string, into: Exposition): Promise<void> {
  const sim = createKaleyraSimulator({ consents: demoConsents(T0, BUSINESS) })
  await sim.listen(0)
  const env = { REDIS_URL: url, REDIS_KEY_PREFIX: freshPrefix() }
  const gates = [
    await startHarness({ sim, env, logLevel: 'silent' }),
    await startHarness({ sim, env, logLevel: 'silent' }),
  ]
  try {
    for (const g of gates)
      await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 10_000)
    await gates[0]!.canCall(DEMO_USERS.permanentGranted)
    await gates[1]!.canCall(DEMO_USERS.permanentGranted)
    await scrape(gates[1]!, into)
  } finally {
    for (const g of gates) await g.gate.close()
    await sim.close()
  }
}

/** Families only a gate with REDIS_URL exports; without a Redis to test with, they are taken on trust. */
export const REDIS_ONLY = { families: ['consent_gate_redis_up'], values: { result: ['shared'] } }

export interface Exported {
  exposition: Exposition
  /** Label names of each family, as declared in src/observability/metrics.ts (a family with no sample yet has some too). */
  labelNames: Map<string, string[]>
  withRedis: boolean
}

export async function exportedByGates(): Promise<Exported> {
  const exposition = emptyExposition()
  await exerciseAlone(exposition)
  await exerciseShedding(exposition)
  await exerciseMeta(exposition)
  if (REDIS_URL) await exerciseShared(REDIS_URL, exposition)
  const metrics = createMetrics()
  const labelNames = new Map<string, string[]>()
  // prom-client keeps each metric's name and label names on the object; its typings omit them.
  type Declared = { name: string; labelNames?: readonly string[] }
  const optional = [metrics.redisUp, metrics.metaPhoneNumbers, metrics.metaDiscoveryFailures]
  for (const m of [...metrics.registry.getMetricsAsArray(), ...optional] as unknown as Declared[])
    labelNames.set(m.name, [...(m.labelNames ?? [])])
  return { exposition, labelNames, withRedis: REDIS_URL !== undefined }
}
