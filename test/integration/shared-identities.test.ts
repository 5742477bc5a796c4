import { describe, expect, it } from 'vitest'
import { createKaleyraSimulator } from '../../src/simulator/simulator.js'
import { BUSINESS, T0, grant, useGates } from '../helpers/gate.js'
import { REDIS_URL, freshPrefix } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, numberChangeMessage, post, replyMessage, linkingReply } from '../helpers/webhooks.js'

/** Identity links across a fleet: kept in Redis, announced on the bus, dropped everywhere on a number change. */

const USER = '+919000000001'
const BSUID = 'IN.13491208655302741918'
const BEARER = 'kaleyra-callback-token-0123'
const gates = useGates()

async function twoGates() {
  const sim = createKaleyraSimulator({ consents: [grant(USER)] })
  await sim.listen(0)
  const env = { REDIS_URL: REDIS_URL ?? '', REDIS_KEY_PREFIX: freshPrefix(), WEBHOOK_BEARER_TOKEN: BEARER }
  const a = await gates.start({ sim, env, logLevel: 'warn' })
  const b = await gates.start({ sim, env, logLevel: 'warn' })
  for (const g of [a, b])
    await waitFor(async () => (await g.get('/readyz')).body.shared.mode === 'connected', 10_000)
  const deliver = (messages: unknown[]) =>
    post(`${a.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, messages), { authorization: `Bearer ${BEARER}` })
  return { a, b, sim, env, deliver }
}

describe.skipIf(!REDIS_URL)('identity links on the shared tier', () => {
  it('a link made on gate A resolves a BSUID check on gate B to the number', async () => {
    const { b, sim, env, deliver } = await twoGates()
    expect((await b.canCall(BSUID)).body.reason).toBe('identity_unresolved')
    await deliver([linkingReply(`l-${Date.now()}`, T0 - 1000)])
    // The reply itself reaches gate B for both identities: the only fact of this user, so it grants.
    await waitFor(async () => (await b.canCall(BSUID)).body.allowed === true, 2000)
    // A fresh check asks Kaleyra, by the number the link message told gate B of.
    expect((await b.canCall(BSUID, '&fresh=true')).body).toMatchObject({ allowed: true, source: 'upstream' })
    expect(sim.requests.at(-1)?.user).toEqual([USER])
    // A gate that started after the link heard no message: it reads the link from Redis.
    const c = await gates.start({ sim, env, logLevel: 'warn' })
    await waitFor(async () => (await c.get('/readyz')).body.shared.mode === 'connected', 10_000)
    expect((await c.canCall(BSUID, '&fresh=true')).body).toMatchObject({ allowed: true, source: 'upstream' })
    expect(sim.requests.at(-1)?.user).toEqual([USER])
  })

  it('a BSUID-only reject on gate A stops checks by the number on gate B', async () => {
    const { b, deliver } = await twoGates()
    await deliver([linkingReply(`l-${Date.now()}`, T0 - 5000)])
    await waitFor(async () => (await b.canCall(USER)).body.allowed === true, 2000)
    await deliver([
      replyMessage({
        id: `r-${Date.now()}`,
        user: USER,
        noFrom: true,
        bsuid: BSUID,
        at: T0,
        response: 'reject',
      }),
    ])
    await waitFor(async () => (await b.canCall(USER)).body.reason === 'consent_rejected', 2000)
    expect((await b.canCall(BSUID)).body.reason).toBe('consent_rejected')
  })

  it('a number change on gate A drops the link and the cached grant on gate B', async () => {
    const { b, sim, deliver } = await twoGates()
    await deliver([linkingReply(`l-${Date.now()}`, T0 - 1000)])
    await waitFor(async () => (await b.canCall(BSUID)).body.allowed === true, 2000)
    expect((await b.canCall(USER)).body.allowed).toBe(true)
    sim.remove(BUSINESS, USER)
    const res = await deliver([
      numberChangeMessage({ id: `c-${Date.now()}`, oldUser: USER, newUser: '+919000000077', at: T0 }),
    ])
    expect(res.body.identity_changes).toBe(1)
    await waitFor(async () => (await b.canCall(BSUID)).body.reason === 'identity_unresolved', 2000)
    expect((await b.canCall(USER)).body).toMatchObject({ allowed: false, source: 'upstream' })
  })
})
