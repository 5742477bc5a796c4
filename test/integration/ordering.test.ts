import { describe, expect, it } from 'vitest'
import { request } from 'undici'
import { createManualClock } from '../../src/lib/clock.js'
import { createKaleyraSimulator } from '../../src/simulator/simulator.js'
import { BUSINESS, DAY_MS, T0, grant, reject, useGates, type Harness } from '../helpers/gate.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, metaBody, post, replyMessage, sign } from '../helpers/webhooks.js'

/** Regressions of issue 11: each case answered allowed:true on the old code (docs/consent-ordering.md). */
const USER = '+919000000001'
const BEARER = 'kaleyra-callback-token-0123'
const SECRET = 'meta-app-secret-0123456789'
const ADMIN = 'admin-token-0123456789abc'
const ENV = { WEBHOOK_BEARER_TOKEN: BEARER, META_APP_SECRET: SECRET, ADMIN_API_TOKEN: ADMIN }
const REJECTED = [reject(USER)]

const { start } = useGates()

const accept = (id: string, at: number) =>
  replyMessage({ id, user: USER, at, response: 'accept', permanent: true })
const kaleyra = (h: Harness, messages: unknown[]) =>
  post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, messages), { authorization: `Bearer ${BEARER}` })
const outcome = (h: Harness, body: object) =>
  post(`${h.url}/call-outcomes`, { business: BUSINESS, user: USER, ...body })

describe('a late accept never grants over a newer fact', () => {
  it('case 1: after a Kaleyra reject and a 138006 eviction, a 60 s old accept does not allow', async () => {
    const h = await start({ consents: REJECTED, env: ENV })
    h.clock.advance(120_000)
    expect((await h.canCall(USER)).body.reason).toBe('consent_rejected')
    await outcome(h, { outcome: 'failed', error_code: 138006 })
    const res = await kaleyra(h, [accept('wamid.late', h.clock.now() - 60_000)])
    expect(res.body).toMatchObject({ applied: 0, outdated: 1 })
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, reason: 'consent_rejected' })
  })

  it('case 2: with CACHE_NEGATIVE_TTL_SECONDS=0, an accept dated before the last Kaleyra reject does not allow', async () => {
    const h = await start({ consents: REJECTED, env: { ...ENV, CACHE_NEGATIVE_TTL_SECONDS: '0' } })
    h.clock.advance(120_000)
    expect((await h.canCall(USER)).body.reason).toBe('consent_rejected')
    h.clock.advance(1000)
    expect((await kaleyra(h, [accept('wamid.before', h.clock.now() - 2000)])).body.outdated).toBe(1)
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, source: 'upstream' })
  })

  it('case 3: a signed reply dated 8 days ago is never applied as a grant; it evicts the pair', async () => {
    const h = await start({ consents: REJECTED, env: ENV })
    h.clock.advance(8 * DAY_MS + 60_000)
    const body = JSON.stringify(metaBody(BUSINESS, [accept('wamid.replay', T0 + 30_000)]))
    const res = await post(`${h.url}/webhooks/meta`, body, { 'x-hub-signature-256': sign(body, SECRET) })
    expect(res.body).toMatchObject({ received: 1, applied: 0, outdated: 1 })
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, source: 'upstream' })
  })

  it('an operator eviction is a fact: an accept dated before it does not grant', async () => {
    const h = await start({ consents: REJECTED, env: ENV })
    h.clock.advance(10_000)
    await request(`${h.url}/cache`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}` } })
    h.clock.advance(10_000)
    expect((await kaleyra(h, [accept('wamid.pre-evict', h.clock.now() - 15_000)])).body.outdated).toBe(1)
    h.clock.advance(1)
    expect((await kaleyra(h, [accept('wamid.post-evict', h.clock.now())])).body.applied).toBe(1)
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: true, source: 'event' })
  })

  it('a reject and an accept of the same instant leave the pair denied, whichever comes first', async () => {
    const h = await start({ consents: [], env: ENV })
    const at = T0 - 1000
    await kaleyra(h, [accept('acc', at)])
    await kaleyra(h, [replyMessage({ id: 'rej', user: USER, at, response: 'reject' })])
    expect((await h.canCall(USER)).body.reason).toBe('consent_rejected')
  })
})

describe('missing evidence: EVENT_TRUST_WINDOW_SECONDS', () => {
  it('after a restart, an accept older than the window evicts the pair; a recent one grants', async () => {
    const sim = createKaleyraSimulator({ consents: REJECTED })
    const clock = createManualClock(T0)
    const env = { ...ENV, EVENT_TRUST_WINDOW_SECONDS: '60' }
    const first = await start({ sim, env, deps: { clock } })
    // The reject this gate learns of is lost with it: the next gate cannot prove an older accept newest.
    await kaleyra(first, [replyMessage({ id: 'r', user: USER, at: T0 - 10_000, response: 'reject' })])
    await first.gate.close()
    const h = await start({ sim, env, deps: { clock } })
    clock.advance(5000)
    expect((await kaleyra(h, [accept('old', T0 - 120_000)])).body).toMatchObject({ applied: 0, outdated: 1 })
    // An untrusted accept is no fact: one within the window still grants.
    expect((await kaleyra(h, [accept('recent', clock.now() - 30_000)])).body.applied).toBe(1)
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: true, source: 'event' })
    expect(sim.requests).toHaveLength(0)
  })

  it('when the fact memory drops pairs at its bound, their old accepts fall back to the window', async () => {
    const h = await start({
      consents: REJECTED,
      env: { ...ENV, CACHE_MAX_ENTRIES: '2', EVENT_TRUST_WINDOW_SECONDS: '60' },
    })
    h.clock.advance(600_000)
    expect((await h.canCall(USER)).body.reason).toBe('consent_rejected')
    for (const other of ['+919000000002', '+919000000003', '+919000000004']) await h.canCall(other)
    const res = await kaleyra(h, [accept('after-pressure', h.clock.now() - 300_000)])
    expect(res.body.applied).toBe(0)
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, reason: 'consent_rejected' })
    const scrape = await (await request(`${h.url}/metrics`)).body.text()
    expect(scrape).toMatch(/^consent_gate_fact_evictions_total [1-9]/m)
    expect(scrape).toMatch(/^consent_gate_events_total\{kind="kaleyra_webhook",result="untrusted"\} 1$/m)
  })
})

describe('a lookup overtaken by a newer fact', () => {
  it('does not answer a grant Kaleyra gave while a 138006 eviction arrived: it asks again', async () => {
    const h = await start({ consents: [grant(USER)], env: ENV })
    h.sim.setFault({ kind: 'latency', ms: 150 }, 1)
    const pending = h.canCall(USER)
    await waitFor(() => h.sim.requests.length >= 1, 2000, 1)
    await outcome(h, { outcome: 'failed', error_code: 138006 })
    // The first grant was asked before the eviction; only the second, asked after it, may answer.
    expect((await pending).body).toMatchObject({ allowed: true, source: 'upstream' })
    expect(h.sim.requests).toHaveLength(2)
  })

  it('lets Kaleyra win over a late accept that arrived while it was being asked', async () => {
    const h = await start({ consents: REJECTED, env: ENV })
    h.clock.advance(60_000)
    h.sim.setFault({ kind: 'latency', ms: 150 }, 1)
    const pending = h.canCall(USER)
    await waitFor(() => h.sim.requests.length >= 1, 2000, 1)
    expect((await kaleyra(h, [accept('late-during', h.clock.now() - 30_000)])).body.applied).toBe(1)
    expect((await pending).body.reason).toBe('consent_rejected')
    expect((await h.canCall(USER)).body).toMatchObject({ allowed: false, reason: 'consent_rejected' })
  })
})

describe('unanswered streaks under memory pressure', () => {
  it('never forgets a blocked pair to make room for counting ones, and counts what it drops', async () => {
    const h = await start({
      consents: [grant(USER)],
      env: { ...ENV, CACHE_MAX_ENTRIES: '2', UNANSWERED_STREAK_LIMIT: '2' },
    })
    for (let i = 0; i < 2; i++) await outcome(h, { outcome: 'unanswered' })
    for (const other of ['+919000000002', '+919000000003', '+919000000004'])
      await post(`${h.url}/call-outcomes`, { business: BUSINESS, user: other, outcome: 'unanswered' })
    expect((await h.canCall(USER)).body.reason).toBe('unanswered_streak')
    const scrape = await (await request(`${h.url}/metrics`)).body.text()
    expect(scrape).toMatch(/^consent_gate_streak_evictions_total\{state="counting"\} 1$/m)
  })
})
