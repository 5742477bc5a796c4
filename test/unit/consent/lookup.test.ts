import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../../src/lib/clock.js'
import { createDecisionCache } from '../../../src/consent/cache.js'
import { createPairFacts } from '../../../src/consent/facts.js'
import { createConsentLookup } from '../../../src/consent/lookup.js'
import type { PermissionRecord, Priority } from '../../../src/upstream/port.js'

const T0 = Date.UTC(2026, 10, 27, 12)
const BUSINESS = '+918000000001'
const USER = '+919000000001'

const record = (response: 'accept' | 'reject'): PermissionRecord => ({
  business: BUSINESS,
  user: USER,
  response,
  isPermanent: true,
  responseSource: 'user_action',
  canPerformAction: response === 'accept',
  expiresAtMs: null,
})

/** A lookup over the real cache and fact memory, with Kaleyra answering each request when the test says so. */
function setup() {
  const clock = createManualClock(T0)
  const cache = createDecisionCache({ maxEntries: 100, maxTtlMs: 300_000, negativeTtlMs: 30_000, clock })
  const facts = createPairFacts({ clock, maxEntries: 100, trustWindowMs: 300_000, negativeTtlMs: 30_000 })
  const asked: { priority: Priority; answer: (r: 'accept' | 'reject') => void }[] = []
  const lookup = createConsentLookup({
    cache,
    facts,
    clock,
    logger: pino({ level: 'silent' }),
    deadlineMs: 60_000,
    find: (_b, _u, priority) =>
      new Promise((resolve) => asked.push({ priority, answer: (r) => resolve([record(r)]) })),
  })
  /** Lets pending lookups reach their next await. */
  const settle = () => new Promise((r) => setImmediate(r))
  return { clock, lookup, asked, settle }
}

describe('two lookups of one pair, the later answer a reject', () => {
  it('never leaves the earlier grant to answer, nor hands it to a lookup overtaken after the reject', async () => {
    const { clock, lookup, asked, settle } = setup()
    // A pre-check's bulk lookup, then a dialer's live check that overtakes it, then a fresh check.
    const bulk = lookup.check(BUSINESS, USER, { priority: 'bulk' })
    clock.advance(1)
    const live = lookup.check(BUSINESS, USER)
    clock.advance(1)
    const fresh = lookup.check(BUSINESS, USER, { fresh: true })
    await settle()
    expect(asked.map((a) => a.priority)).toEqual(['bulk', 'live', 'live'])

    clock.advance(10)
    asked[1]!.answer('accept')
    expect((await live).decision.allowed).toBe(true)
    // The user revokes; the bulk request, answered later, says so.
    clock.advance(10)
    asked[0]!.answer('reject')
    expect((await bulk).decision.allowed).toBe(false)
    expect(lookup.cached(BUSINESS, USER)?.allowed).not.toBe(true)
    // The fresh check's accept was asked before the revoke and answers after it: it is asked again.
    clock.advance(10)
    asked[2]!.answer('accept')
    await settle()
    expect(asked).toHaveLength(4)
    clock.advance(10)
    asked[3]!.answer('reject')
    expect((await fresh).decision.allowed).toBe(false)
    expect(lookup.cached(BUSINESS, USER)?.allowed).not.toBe(true)
  })

  it('answers a live check with the bulk answer that arrived after it asked, without asking a third time', async () => {
    const { clock, lookup, asked, settle } = setup()
    const bulk = lookup.check(BUSINESS, USER, { priority: 'bulk' })
    clock.advance(1)
    const live = lookup.check(BUSINESS, USER)
    await settle()
    clock.advance(10)
    asked[0]!.answer('accept')
    await bulk
    clock.advance(10)
    asked[1]!.answer('accept')
    const answer = await live
    expect(answer.decision.allowed).toBe(true)
    expect(answer.source).toBe('cache')
    expect(asked).toHaveLength(2)
  })
})
