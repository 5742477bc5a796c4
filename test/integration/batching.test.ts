import { describe, expect, it } from 'vitest'
import { createKaleyraSimulator, type SimConsent } from '../../src/simulator/simulator.js'
import { BUSINESS, grant, reject, useGates, type Harness } from '../helpers/gate.js'

/** 100 distinct users: a third granted, a third rejected, a third with no record at all. */
const users = Array.from({ length: 100 }, (_, i) => `+9190000${String(i).padStart(5, '0')}`)
const expected = (i: number) => (['consent_granted', 'consent_rejected', 'no_consent'] as const)[i % 3]
const seed = (business = BUSINESS): SimConsent[] =>
  users.flatMap((user, i): SimConsent[] => {
    if (expected(i) === 'no_consent') return []
    return [(expected(i) === 'consent_granted' ? grant : reject)(user, { business })]
  })

const gates = useGates()

/** Dialers keep connections alive: open them first, so the checks below arrive together, as from a campaign. */
async function warmConnections(h: Harness, n = 100) {
  await Promise.all(Array.from({ length: n }, () => h.get('/healthz')))
}

async function checkAll(h: Harness, business = BUSINESS, warm = true) {
  if (warm) await warmConnections(h)
  return Promise.all(users.map((u) => h.canCall(u, '', business)))
}

function expectCorrect(answers: Awaited<ReturnType<typeof checkAll>>) {
  answers.forEach((a, i) => {
    expect(a.status, users[i]).toBe(200)
    expect(a.body.reason, users[i]).toBe(expected(i))
    expect(a.body.user).toBe(users[i])
  })
}

describe('micro-batching of misses', () => {
  it('decides 100 concurrent cold users of one business in at most ceil(100/25)+1 upstream requests', async () => {
    const h = await gates.start({ consents: seed() })
    expectCorrect(await checkAll(h))
    expect(h.sim.requests.length).toBeLessThanOrEqual(Math.ceil(100 / 25) + 1)
    expect(Math.max(...h.sim.requests.map((r) => r.user.length))).toBeLessThanOrEqual(25)
    expect(h.sim.requests.every((r) => r.business.length === 1 && r.business[0] === BUSINESS)).toBe(true)
  })

  it('respects BATCH_MAX_USERS', async () => {
    const h = await gates.start({ consents: seed(), env: { BATCH_MAX_USERS: '10' } })
    expectCorrect(await checkAll(h))
    expect(h.sim.requests.length).toBeLessThanOrEqual(11)
    expect(Math.max(...h.sim.requests.map((r) => r.user.length))).toBe(10)
  })

  it('reads every page of a batch, with records in another order, spaced, among other pairs', async () => {
    const sim = createKaleyraSimulator({
      consents: [...seed(), ...seed('+918000000002')],
      maxPageSize: 10,
      order: 'reversed',
      numberFormat: 'spaced',
      includeUnrelated: true,
    })
    const h = await gates.start({ sim })
    expectCorrect(await checkAll(h))
    // Each batch of 25 users holds about 17 records: two pages of 10.
    expect(h.sim.requests.some((r) => r.offset > 0)).toBe(true)
    const firstPages = h.sim.requests.filter((r) => r.offset === 0)
    expect(firstPages.length).toBeLessThanOrEqual(5)
  })

  it('shares requests across businesses, each pair decided on its own records', async () => {
    // Pages of 100: a batch of 25 users over both businesses is one page of at most 50 records.
    const B2 = '+918000000002'
    const h = await gates.start({ consents: [...seed(), ...seed(B2)], env: { KALEYRA_PAGE_SIZE: '100' } })
    await warmConnections(h, 200)
    // A dialer with two numbers: each user is checked for both, as the calls come.
    const answers = await Promise.all(
      users.flatMap((u) => [h.canCall(u, '', BUSINESS), h.canCall(u, '', B2)]),
    )
    expectCorrect(answers.filter((_, i) => i % 2 === 0))
    expectCorrect(answers.filter((_, i) => i % 2 === 1))
    expect(answers.filter((_, i) => i % 2 === 1).every((a) => a.body.business === B2)).toBe(true)
    expect(h.sim.requests.some((r) => r.business.length === 2)).toBe(true)
    expect(h.sim.requests.every((r) => r.limit === 100)).toBe(true)
    // Per-business batches would cost 2 x 4 requests and more; shared ones, those of 100 users.
    expect(h.sim.requests.length).toBeLessThanOrEqual(Math.ceil(100 / 25) + 1)
  })

  it('fails closed only the checks of a business Kaleyra cannot answer for, not those it shared a request with', async () => {
    const B2 = '+918000000002'
    const h = await gates.start({ consents: [...seed(), ...seed(B2)], env: { UPSTREAM_RETRIES: '0' } })
    h.sim.setFault({ kind: 'status', status: 500, business: B2 })
    await warmConnections(h, 40)
    const pairs = users.slice(0, 20).flatMap((u) => [h.canCall(u, '', BUSINESS), h.canCall(u, '', B2)])
    const answers = await Promise.all(pairs)
    const healthy = answers.filter((_, i) => i % 2 === 0)
    healthy.forEach((a, i) => expect(a.body.reason, users[i]).toBe(expected(i)))
    expect(answers.filter((_, i) => i % 2 === 1).every((a) => a.status === 503)).toBe(true)
    // The shared requests failed, then each business was asked alone.
    expect(h.sim.requests.some((r) => r.business.length === 2)).toBe(true)
    expect(h.sim.requests.some((r) => r.business.length === 1 && r.business[0] === BUSINESS)).toBe(true)
  })

  it('fails every check of a batch closed on an upstream error, and caches none of it', async () => {
    const h = await gates.start({ consents: seed(), env: { UPSTREAM_RETRIES: '0' } })
    h.sim.setFault({ kind: 'status', status: 500 })
    await warmConnections(h, 20)
    const failed = await Promise.all(users.slice(0, 20).map((u) => h.canCall(u)))
    expect(failed.every((a) => a.status === 503 && a.body.reason === 'upstream_unavailable')).toBe(true)
    expect(h.sim.requests.length).toBeLessThan(20)
    h.sim.clearFault()
    const again = await Promise.all(users.slice(0, 20).map((u) => h.canCall(u)))
    expect(again.every((a) => a.status === 200 && a.body.source === 'upstream')).toBe(true)
  })

  it('adds at most BATCH_WINDOW_MS to a single check', async () => {
    const h = await gates.start({ consents: seed(), env: { BATCH_WINDOW_MS: '0' } })
    await h.canCall(users[0] ?? '')
    await h.canCall(users[1] ?? '')
    expect(h.sim.requests.map((r) => r.user.length)).toEqual([1, 1])
  })
})
