import { afterEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { BUSINESS, T0, grant, useGates } from '../helpers/gate.js'
import { REDIS_URL, freshPrefix } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, numberChangeMessage, post, linkingReply } from '../helpers/webhooks.js'

/** Identity links in the shared tier (REDIS_URL): what Redis holds is checked, and nothing scans the keyspace. */

const USER = '+919000000001'
const BSUID = 'IN.13491208655302741918'
const BEARER = 'kaleyra-callback-token-0123'
const auth = { authorization: `Bearer ${BEARER}` }
const E164 = /^\+[1-9]\d{7,14}$/

let admin: Redis | undefined
afterEach(async () => {
  await admin?.quit()
  admin = undefined
})
const gates = useGates()

async function scanCalls(r: Redis): Promise<number> {
  const stats = await r.info('commandstats')
  return Number(/cmdstat_scan:calls=(\d+)/.exec(stats)?.[1] ?? 0)
}

describe.skipIf(!REDIS_URL)('identity links in Redis', () => {
  const url = REDIS_URL ?? ''

  for (const upstream of ['kaleyra', 'meta'] as const)
    it(`never sends the upstream (${upstream}) a linked "number" read from Redis that is not one`, async () => {
      const prefix = freshPrefix()
      admin = new Redis(url)
      // What a bus message could never carry (it is checked against E.164), Redis can hold.
      await admin.set(`${prefix}link:b:${BSUID}`, '+919000000001&recipient=US.1,+919000000002', 'PX', 60_000)
      const h = await gates.start({
        upstream,
        consents: [grant(USER)],
        env: { REDIS_URL: url, REDIS_KEY_PREFIX: prefix },
        logLevel: 'warn',
      })
      await waitFor(async () => (await h.get('/readyz')).body.shared.mode === 'connected', 10_000)
      const res = await h.canCall(BSUID)
      expect(res.body.allowed).toBe(false)
      for (const asked of h.sim.requests) for (const u of asked.user) expect([BSUID, USER]).toContain(u)
      expect(h.sim.requests.every((r) => r.user.every((u) => u === BSUID || E164.test(u)))).toBe(true)
      // An unlinked BSUID is asked about as itself (Meta's recipient=), never as what Redis held.
      for (const asked of h.sim.requests) expect([undefined, BSUID]).toContain(asked.query.recipient)
    })

  /** A gate on a Redis that holds 20,000 keys of a busy fleet (dedupe marks) besides its own: scans would show. */
  async function busyFleet() {
    const prefix = freshPrefix()
    const r = (admin = new Redis(url))
    for (let i = 0; i < 20; i++) {
      const batch = r.pipeline()
      for (let j = 0; j < 1000; j++) batch.set(`${prefix}seen:w${i}-${j}`, '1', 'PX', 120_000)
      await batch.exec()
    }
    const h = await gates.start({
      consents: [grant(USER)],
      env: { REDIS_URL: url, REDIS_KEY_PREFIX: prefix, WEBHOOK_BEARER_TOKEN: BEARER },
      logLevel: 'warn',
    })
    await waitFor(async () => (await h.get('/readyz')).body.shared.mode === 'connected', 10_000)
    return { h, admin: r }
  }

  it('drops a number change without scanning the whole Redis keyspace once per identity', async () => {
    const { h, admin } = await busyFleet()
    await post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, [linkingReply('link', T0 - 1000)]), auth)
    const before = await scanCalls(admin)
    const started = performance.now()
    const res = await post(
      `${h.url}/webhooks/kaleyra`,
      kaleyraBody(BUSINESS, [
        numberChangeMessage({ id: 'chg', oldUser: USER, newUser: '+919000000077', at: T0 }),
      ]),
      auth,
    )
    const ms = performance.now() - started
    expect(res.body).toMatchObject({ identity_changes: 1 })
    const scans = (await scanCalls(admin)) - before
    // Two identities (the number and its BSUID): the cost must not grow with keys that are not theirs.
    expect(scans, `${scans} SCAN calls, ${Math.round(ms)} ms`).toBeLessThanOrEqual(10)
  })

  it('links a BSUID to a number (a first reply naming both) without scanning the whole Redis keyspace', async () => {
    const { h, admin } = await busyFleet()
    const before = await scanCalls(admin)
    // Every username-era user's first reply carries both: this is the common webhook, not a rare event.
    const res = await post(
      `${h.url}/webhooks/kaleyra`,
      kaleyraBody(BUSINESS, [linkingReply('link', T0 - 1000)]),
      auth,
    )
    expect(res.status).toBe(200)
    const scans = (await scanCalls(admin)) - before
    expect(scans, `${scans} SCAN calls`).toBeLessThanOrEqual(10)
  })
})
