import { afterEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { request } from 'undici'
import { BUSINESS, T0, grant, useGates, type Harness } from '../helpers/gate.js'
import { REDIS_URL, freshPrefix } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { kaleyraBody, linkingReply, post, replyMessage } from '../helpers/webhooks.js'

/**
 * The shared tier (REDIS_URL): the merge on a new link across a fleet, and what
 * it costs on the webhook path.
 */

const USER = '+919000000001'
const BSUID = 'IN.13491208655302741918'
const BEARER = 'kaleyra-callback-token-0123'
const auth = { authorization: `Bearer ${BEARER}` }
const PERMANENT = { is_permanent: true, expiresAt: null }

let admin: Redis | undefined
let proxy: Awaited<ReturnType<typeof startTcpProxy>> | undefined
afterEach(async () => {
  await admin?.quit()
  admin = undefined
  proxy?.thaw()
  await proxy?.close()
  proxy = undefined
})
const gates = useGates()

const deliver = (h: Harness, messages: unknown[]) =>
  post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, messages), auth)

const redisTarget = (url: string) => {
  const { hostname, port } = new URL(url)
  return { host: hostname, port: Number(port || 6379) }
}

async function commandCalls(r: Redis, command: string): Promise<number> {
  const stats = await r.info('commandstats')
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
}

/** `n` business numbers in the fleet's list, as gates that checked them would have added them. */
async function knownBusinesses(r: Redis, prefix: string, n: number): Promise<void> {
  const numbers = Array.from({ length: n }, (_, i) => `+9170${String(i).padStart(8, '0')}`)
  await r.sadd(`${prefix}businesses`, ...numbers)
}

describe.skipIf(!REDIS_URL)('the merge on a new link, in a fleet', () => {
  const url = REDIS_URL ?? ''
  const start = (prefix: string, extra: Record<string, string> = {}) =>
    gates.start({
      consents: [grant(USER, PERMANENT)],
      env: {
        REDIS_URL: url,
        REDIS_KEY_PREFIX: prefix,
        WEBHOOK_BEARER_TOKEN: BEARER,
        CACHE_NEGATIVE_TTL_SECONDS: '3600',
        ...extra,
      },
      logLevel: 'warn',
    })
  const connected = (h: Harness) =>
    waitFor(async () => (await h.get('/readyz')).body.shared.mode === 'connected', 10_000)

  it('still denies on a gate that holds no fact of its own when a late reply links the BSUID', async () => {
    const prefix = freshPrefix()
    admin = new Redis(url)
    // Gate 1 saw the user's number checked (the upstream's grant, kept in Redis), then the username user's reject.
    const g1 = await start(prefix)
    await connected(g1)
    expect((await g1.canCall(USER)).body.allowed).toBe(true)
    await deliver(g1, [
      replyMessage({ id: 'rej', user: USER, noFrom: true, bsuid: BSUID, at: T0, response: 'reject' }),
    ])
    await waitFor(async () => (await admin!.exists(`${prefix}d:${BUSINESS}|${USER}`)) === 1, 5000)
    // Gate 2 started since (a deploy, a scale-out): it knows the fleet only through Redis.
    const g2 = await start(prefix)
    await connected(g2)
    // An accept from before the reject, naming both, reaches gate 2 late and links them.
    await deliver(g2, [linkingReply('old', T0 - 60_000)])
    // The user's newest fact is the reject, and the fleet holds it: no gate may allow either identity.
    const byNumber = (await g2.canCall(USER)).body
    expect(byNumber, `by number, gate 2 (source ${byNumber.source})`).toMatchObject({ allowed: false })
    expect((await g2.canCall(BSUID)).body, 'by BSUID, gate 2').toMatchObject({ allowed: false })
  })

  it('never allows a check by the BSUID while the merge waits on a slow Redis', async () => {
    const prefix = freshPrefix()
    proxy = await startTcpProxy(redisTarget(url))
    const h = await start(prefix, { REDIS_URL: `redis://127.0.0.1:${proxy.port}` })
    await connected(h)
    await deliver(h, [
      replyMessage({ id: 'rej', user: USER, noFrom: true, bsuid: BSUID, at: T0, response: 'reject' }),
    ])
    // Before the link, the BSUID is nobody Kaleyra knows: the reject is the answer.
    expect((await h.canCall(BSUID, '&fresh=true')).body.allowed).toBe(false)
    expect((await h.canCall(USER)).body.allowed).toBe(true)
    // Redis stalls (a failover, a slow command): every command now waits REDIS_TIMEOUT_MS and is retried.
    proxy.freeze()
    let done = false
    const webhook = deliver(h, [linkingReply('old', T0 - 60_000)]).finally(() => (done = true))
    let checks = 0
    const wrong: unknown[] = []
    while (!done) {
      // By BSUID, Kaleyra is asked only once the gate holds the link: a yes here comes after the link.
      const res = await h.canCall(BSUID, '&fresh=true')
      checks++
      if (res.body.allowed === true) wrong.push(res.body.reason)
    }
    proxy.thaw()
    expect((await webhook).status).toBe(200)
    // The user's newest fact is the reject (held for CACHE_NEGATIVE_TTL_SECONDS against any upstream grant).
    expect(wrong, `${wrong.length} of ${checks} checks during the merge allowed`).toEqual([])
    expect((await h.canCall(BSUID, '&fresh=true')).body.allowed).toBe(false)
  })

  it('costs a reply of an already linked user a bounded number of Redis commands on a gate that restarted', async () => {
    const prefix = freshPrefix()
    admin = new Redis(url)
    await knownBusinesses(admin, prefix, 2000)
    const g1 = await start(prefix)
    await connected(g1)
    await deliver(g1, [linkingReply('first', T0 - 60_000)])
    // A gate started since: the fleet knows the link (Redis link:b:), this gate's memory does not.
    const g2 = await start(prefix)
    await connected(g2)
    expect((await g2.canCall(USER)).status).toBe(200) // the dialer checks before calling
    const before = (await commandCalls(admin, 'eval')) + (await commandCalls(admin, 'evalsha'))
    const started = performance.now()
    // How long the gate's event loop (every check it serves) stalls at a stretch meanwhile.
    let last = performance.now()
    let stallMs = 0
    const tick = setInterval(() => {
      stallMs = Math.max(stallMs, performance.now() - last)
      last = performance.now()
    }, 1)
    // Every reply of this user names both identities (Meta sends from_user_id with from).
    const res = await deliver(g2, [linkingReply('second', T0)])
    clearInterval(tick)
    const ms = Math.round(performance.now() - started)
    expect(res.status).toBe(200)
    const evals = (await commandCalls(admin, 'eval')) + (await commandCalls(admin, 'evalsha')) - before
    const metrics = String((await g2.get('/metrics')).body)
    const errors = metrics.match(/^consent_gate_redis_(errors|lost_writes)_total\{op="evict"\}.*$/gm)
    const cost = `${evals} scripts in ${ms} ms, stall ${Math.round(stallMs)} ms; ${errors?.join(', ')}`
    // One reply, one pair: its cost must not grow with every business the fleet ever served.
    expect(evals, cost).toBeLessThanOrEqual(20)
  })

  for (const operatorEvicted of [true, false])
    it(`${operatorEvicted ? '' : '(control) '}costs a new user's first reply no work per business${operatorEvicted ? ' after an operator evicted one business' : ''}`, async () => {
      const prefix = freshPrefix()
      admin = new Redis(url)
      await knownBusinesses(admin, prefix, 2000)
      const token = 'admin-token-0123456789abcdef'
      const h = await start(prefix, { ADMIN_API_TOKEN: token })
      await connected(h)
      // DELETE /cache?business= is a floor for every pair (facts.ts evictAll): facts.holds() is then true for
      // every key, so every later link "has something to merge".
      if (operatorEvicted) {
        const res = await request(`${h.url}/cache?business=${encodeURIComponent('+918000000099')}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${token}` },
        })
        expect(res.statusCode).toBe(200)
        await res.body.dump()
      }
      const before = (await commandCalls(admin, 'eval')) + (await commandCalls(admin, 'evalsha'))
      // A user the gate never heard of: nothing is known under either identity.
      await deliver(h, [linkingReply('first', T0 - 1000, '+919000000055', 'IN.55555555555555555555')])
      const evals = (await commandCalls(admin, 'eval')) + (await commandCalls(admin, 'evalsha')) - before
      expect(evals, `${evals} scripts`).toBeLessThanOrEqual(20)
    })
})
