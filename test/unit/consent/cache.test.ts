import { describe, it, expect } from 'vitest'
import { allowDecision, denyDecision } from '../../helpers/decisions.js'
import fc from 'fast-check'
import { createDecisionCache, pairKey, type DecisionCacheOptions } from '../../../src/consent/cache.js'
import { createManualClock } from '../../../src/lib/clock.js'

const SECOND = 1000
const MINUTE = 60 * SECOND
const DAY = 86_400_000
const BUSINESS = '+918000000001'
const USER = '+919876543210'
const KEY = pairKey(BUSINESS, USER)

function setup(opts: Partial<Omit<DecisionCacheOptions, 'clock'>> = {}) {
  const clock = createManualClock()
  const cache = createDecisionCache({
    maxEntries: 100,
    maxTtlMs: 5 * MINUTE,
    negativeTtlMs: 30 * SECOND,
    clock,
    ...opts,
  })
  return { clock, cache, t0: clock.now() }
}

describe('pairKey', () => {
  it('gives the same key for the same pair', () => {
    expect(pairKey(BUSINESS, USER)).toBe(pairKey(BUSINESS, USER))
  })

  it('tells a pair from the same numbers swapped', () => {
    expect(pairKey(BUSINESS, USER)).not.toBe(pairKey(USER, BUSINESS))
  })

  it('tells apart pairs whose numbers differ', () => {
    expect(pairKey(BUSINESS, USER)).not.toBe(pairKey(BUSINESS, '+919876543211'))
    expect(pairKey(BUSINESS, USER)).not.toBe(pairKey('+918000000002', USER))
  })
})

describe('createDecisionCache', () => {
  describe('an allow', () => {
    it('is served until its consent expires when that comes before the cap, and not at or after it', () => {
      const { clock, cache, t0 } = setup({ maxTtlMs: 5 * MINUTE })
      const decision = allowDecision(t0, t0 + MINUTE)
      cache.set(KEY, decision)

      clock.advance(MINUTE - 1)
      expect(cache.get(KEY)).toEqual(decision)
      clock.advance(1)
      expect(cache.get(KEY)).toBeUndefined()
      clock.advance(1)
      expect(cache.get(KEY)).toBeUndefined()
    })

    it('is served until the cap when its consent expires later, and not at or after it', () => {
      const { clock, cache, t0 } = setup({ maxTtlMs: 5 * MINUTE })
      cache.set(KEY, allowDecision(t0, t0 + DAY))

      clock.advance(5 * MINUTE - 1)
      expect(cache.get(KEY)?.allowed).toBe(true)
      clock.advance(1)
      expect(cache.get(KEY)).toBeUndefined()
    })

    it('of a permanent consent is served until the cap, and not at or after it', () => {
      const { clock, cache, t0 } = setup({ maxTtlMs: 5 * MINUTE })
      cache.set(KEY, allowDecision(t0, null))

      clock.advance(5 * MINUTE - 1)
      expect(cache.get(KEY)?.allowed).toBe(true)
      clock.advance(1)
      expect(cache.get(KEY)).toBeUndefined()
    })

    it('is never returned at or past its consent expiry, even when the cap is far longer', () => {
      const { clock, cache, t0 } = setup({ maxTtlMs: DAY })
      cache.set(KEY, allowDecision(t0, t0 + 10 * SECOND))

      clock.set(t0 + 10 * SECOND)
      expect(cache.get(KEY)).toBeUndefined()
      clock.set(t0 + 10 * SECOND + 1)
      expect(cache.get(KEY)).toBeUndefined()
    })

    it('reports the TTL it was stored with', () => {
      const { cache, t0 } = setup({ maxTtlMs: 5 * MINUTE })
      expect(cache.set(KEY, allowDecision(t0, t0 + MINUTE))).toBe(60_000)
      expect(cache.set(pairKey(BUSINESS, '+919876543211'), allowDecision(t0, null))).toBe(300_000)
    })
  })

  describe('a deny', () => {
    it('is served for the negative TTL and not at or after its end, whatever the cap', () => {
      const { clock, cache, t0 } = setup({ maxTtlMs: DAY, negativeTtlMs: 30 * SECOND })
      const decision = denyDecision(t0)
      expect(cache.set(KEY, decision)).toBe(30_000)

      clock.advance(30 * SECOND - 1)
      expect(cache.get(KEY)).toEqual(decision)
      clock.advance(1)
      expect(cache.get(KEY)).toBeUndefined()
    })
  })

  describe('a TTL of 0', () => {
    it('stores no allow when the cap is 0', () => {
      const { cache, t0 } = setup({ maxTtlMs: 0 })
      expect(cache.set(KEY, allowDecision(t0, null))).toBe(0)
      expect(cache.size).toBe(0)
      expect(cache.get(KEY)).toBeUndefined()
    })

    it('stores no deny when the negative TTL is 0', () => {
      const { cache, t0 } = setup({ negativeTtlMs: 0 })
      expect(cache.set(KEY, denyDecision(t0))).toBe(0)
      expect(cache.size).toBe(0)
      expect(cache.get(KEY)).toBeUndefined()
    })

    it('stores no allow whose consent already expired', () => {
      const { cache, t0 } = setup()
      expect(cache.set(KEY, allowDecision(t0 - MINUTE, t0 - 1))).toBe(0)
      expect(cache.get(KEY)).toBeUndefined()
    })

    it('drops what was stored for the pair before, so a stale allow cannot outlive its replacement', () => {
      const { cache, t0 } = setup()
      cache.set(KEY, allowDecision(t0, null))
      expect(cache.set(KEY, allowDecision(t0, t0))).toBe(0)
      expect(cache.get(KEY)).toBeUndefined()
    })
  })

  describe('the maxEntries bound', () => {
    it('evicts the least recently used pair first, a read counting as a use', () => {
      const { cache, t0 } = setup({ maxEntries: 2 })
      const a = pairKey(BUSINESS, '+919000000001')
      const b = pairKey(BUSINESS, '+919000000002')
      const c = pairKey(BUSINESS, '+919000000003')
      cache.set(a, denyDecision(t0))
      cache.set(b, denyDecision(t0))
      expect(cache.get(a)).toBeDefined()
      cache.set(c, denyDecision(t0))

      expect(cache.size).toBe(2)
      expect(cache.get(b)).toBeUndefined()
      expect(cache.get(a)).toBeDefined()
      expect(cache.get(c)).toBeDefined()
    })

    it('never holds more than maxEntries pairs', () => {
      const { cache, t0 } = setup({ maxEntries: 3 })
      for (let i = 0; i < 10; i++) cache.set(pairKey(BUSINESS, `+91900000000${i}`), denyDecision(t0))
      expect(cache.size).toBe(3)
    })
  })

  it('forgets one pair on delete and every pair on clear', () => {
    const { cache, t0 } = setup()
    const other = pairKey(BUSINESS, '+919876543211')
    cache.set(KEY, denyDecision(t0))
    cache.set(other, allowDecision(t0, null))

    cache.delete(KEY)
    expect(cache.get(KEY)).toBeUndefined()
    expect(cache.get(other)?.allowed).toBe(true)

    cache.clear()
    expect(cache.get(other)).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('keeps pairs apart: a decision for one user is not served for another', () => {
    const { cache, t0 } = setup()
    cache.set(KEY, allowDecision(t0, null))
    expect(cache.get(pairKey(BUSINESS, '+919876543211'))).toBeUndefined()
    expect(cache.get(pairKey('+918000000002', USER))).toBeUndefined()
  })

  describe('properties', () => {
    const capArb = fc.integer({ min: 1, max: 10 * MINUTE })
    const offsetArb = fc.integer({ min: 1, max: 20 * MINUTE })
    const probeArb = fc.integer({ min: 0, max: 30 * MINUTE })

    it('never returns an allow at or past its consent expiry or the cap', () => {
      fc.assert(
        fc.property(capArb, offsetArb, probeArb, (maxTtlMs, expiresIn, probe) => {
          const { clock, cache, t0 } = setup({ maxTtlMs })
          cache.set(KEY, allowDecision(t0, t0 + expiresIn))
          clock.advance(probe)
          const served = cache.get(KEY)
          if (served) expect(clock.now()).toBeLessThan(t0 + expiresIn)
          if (served) expect(probe).toBeLessThan(maxTtlMs)
        }),
      )
    })

    const beforeBoth = fc
      .tuple(capArb, offsetArb)
      .chain(([cap, expiresIn]) =>
        fc.tuple(
          fc.constant(cap),
          fc.constant(expiresIn),
          fc.integer({ min: 0, max: Math.min(cap, expiresIn) - 1 }),
        ),
      )

    it('serves an allow at any time before both its expiry and the cap', () => {
      fc.assert(
        fc.property(beforeBoth, ([maxTtlMs, expiresIn, probe]) => {
          const { clock, cache, t0 } = setup({ maxTtlMs })
          cache.set(KEY, allowDecision(t0, t0 + expiresIn))
          clock.advance(probe)
          expect(cache.get(KEY)?.allowed).toBe(true)
        }),
      )
    })
  })
})

describe('createDecisionCache: a deny with retry_at', () => {
  it('is gone at its retry_at, even with a stale-if-error window', () => {
    const clock = createManualClock()
    const cache = createDecisionCache({
      maxEntries: 10,
      maxTtlMs: 300_000,
      negativeTtlMs: 30_000,
      staleIfErrorMs: 600_000,
      clock,
    })
    const deny = { ...denyDecision(clock.now(), 'action_not_permitted'), retryAtMs: clock.now() + 10_000 }
    cache.set('k', deny)
    clock.advance(9_999)
    expect(cache.get('k')).toBeDefined()
    clock.advance(1)
    expect(cache.get('k')).toBeUndefined()
    expect(cache.getStale('k')).toBeUndefined()
  })
})
