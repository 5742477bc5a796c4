import { afterEach, describe, expect, it } from 'vitest'
import { createKaleyraSimulator } from '../../src/simulator/simulator.js'
import { BUSINESS, grant, useGates } from '../helpers/gate.js'
import { REDIS_URL, freePort, freshPrefix, ownRedis } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, post, replyMessage } from '../helpers/webhooks.js'

const USER = '+919000000001'
const BEARER = 'kaleyra-callback-token-0123'
let cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.reverse()) await c()
  cleanups = []
})
// Registered after the hook above, so the gate closes before its Redis stops.
const gates = useGates()

describe.skipIf(!REDIS_URL)('ordering found by review: Redis returning', () => {
  it('keeps a reject applied while Redis was down when Redis returns, for its TTL', async () => {
    const port = await freePort()
    let redis = await ownRedis(port)
    cleanups.push(() => redis.stop())
    const sim = createKaleyraSimulator({ consents: [grant(USER)] })
    await sim.listen(0)
    const g = await gates.start({
      sim,
      env: { REDIS_URL: redis.url, REDIS_KEY_PREFIX: freshPrefix(), WEBHOOK_BEARER_TOKEN: BEARER },
      logLevel: 'warn',
    })
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 10_000)
    await redis.stop()
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'degraded', 5000)
    g.clock.advance(1000)
    const res = await post(
      `${g.url}/webhooks/kaleyra`,
      kaleyraBody(BUSINESS, [replyMessage({ id: 'rej', user: USER, at: g.clock.now(), response: 'reject' })]),
      { authorization: `Bearer ${BEARER}` },
    )
    expect(res.body.applied).toBe(1)
    expect((await g.canCall(USER)).body.allowed).toBe(false)
    redis = await ownRedis(port)
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 10_000)
    g.clock.advance(1000) // within the 30 s deny TTL
    expect((await g.canCall(USER)).body).toMatchObject({ allowed: false })
  })
})
