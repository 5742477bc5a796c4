import { describe, it, expect } from 'vitest'
import { allowDecision, denyDecision } from '../../helpers/decisions.js'
import fc from 'fast-check'
import { decisionTtlMs, type TtlPolicy } from '../../../src/consent/ttl.js'

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0)
const SECOND = 1000
const DAY = 86_400_000
const POLICY: TtlPolicy = { maxTtlMs: 300 * SECOND, negativeTtlMs: 30 * SECOND }

describe('decisionTtlMs', () => {
  describe('for an allow', () => {
    it('lives until the consent expires when that comes before the cap', () => {
      expect(decisionTtlMs(allowDecision(NOW, NOW + 60 * SECOND), NOW, POLICY)).toBe(60_000)
    })

    it('lives only as long as the cap when the consent expires later', () => {
      expect(decisionTtlMs(allowDecision(NOW, NOW + DAY), NOW, POLICY)).toBe(300_000)
    })

    it('lives as long as the cap when the consent is permanent', () => {
      expect(decisionTtlMs(allowDecision(NOW, null), NOW, POLICY)).toBe(300_000)
    })

    it('is not cached when the consent expires exactly now', () => {
      expect(decisionTtlMs(allowDecision(NOW, NOW), NOW, POLICY)).toBe(0)
    })

    it('is not cached when the consent already expired', () => {
      expect(decisionTtlMs(allowDecision(NOW, NOW - 5 * SECOND), NOW, POLICY)).toBe(0)
    })

    it('is not cached when the cap is 0, even for a permanent consent', () => {
      const noCache = { ...POLICY, maxTtlMs: 0 }
      expect(decisionTtlMs(allowDecision(NOW, null), NOW, noCache)).toBe(0)
      expect(decisionTtlMs(allowDecision(NOW, NOW + DAY), NOW, noCache)).toBe(0)
    })

    it('counts from the time it is asked about, not from when Kaleyra was asked', () => {
      expect(decisionTtlMs(allowDecision(NOW, NOW + 60 * SECOND), NOW + 45 * SECOND, POLICY)).toBe(15_000)
    })
  })

  describe('for a deny', () => {
    it.each([
      'consent_rejected',
      'consent_expired',
      'action_not_permitted',
      'no_consent',
      'consent_unrecognized',
    ] as const)('remembers %s for the negative TTL', (reason) => {
      expect(decisionTtlMs(denyDecision(NOW, reason), NOW, POLICY)).toBe(30_000)
    })

    it('ignores the expiry and the cap: a deny whose consent expired still lives the negative TTL', () => {
      const policy = { maxTtlMs: 10 * SECOND, negativeTtlMs: 45 * SECOND }
      expect(decisionTtlMs(denyDecision(NOW, 'consent_expired', NOW - DAY), NOW, policy)).toBe(45_000)
    })

    it('is not cached when the negative TTL is 0', () => {
      expect(decisionTtlMs(denyDecision(NOW, 'consent_rejected'), NOW, { ...POLICY, negativeTtlMs: 0 })).toBe(
        0,
      )
    })
  })

  describe('properties of an allow', () => {
    const expiryArb = fc.option(fc.integer({ min: NOW - DAY, max: NOW + 2 * DAY }), { nil: null })
    const capArb = fc.integer({ min: 0, max: DAY })

    it('never outlives the consent nor the cap, and never goes negative', () => {
      fc.assert(
        fc.property(expiryArb, capArb, (expiresAtMs, maxTtlMs) => {
          const ttl = decisionTtlMs(allowDecision(NOW, expiresAtMs), NOW, { ...POLICY, maxTtlMs })
          expect(ttl).toBeGreaterThanOrEqual(0)
          expect(ttl).toBeLessThanOrEqual(maxTtlMs)
          if (expiresAtMs !== null && ttl > 0) expect(NOW + ttl).toBeLessThanOrEqual(expiresAtMs)
        }),
      )
    })

    it('uses all the time it may: it reaches the cap, the expiry, or is 0 for a consent already over', () => {
      fc.assert(
        fc.property(expiryArb, capArb, (expiresAtMs, maxTtlMs) => {
          const ttl = decisionTtlMs(allowDecision(NOW, expiresAtMs), NOW, { ...POLICY, maxTtlMs })
          const reachesExpiry = expiresAtMs !== null && NOW + ttl === expiresAtMs
          const over = expiresAtMs !== null && expiresAtMs <= NOW
          expect(ttl === maxTtlMs || reachesExpiry || (over && ttl === 0)).toBe(true)
        }),
      )
    })
  })
})

describe('decisionTtlMs: a deny with retry_at', () => {
  const policy = { maxTtlMs: 300_000, negativeTtlMs: 30_000 }
  const limited = (retryAtMs: number | null) => ({
    ...denyDecision(NOW, 'action_not_permitted'),
    retryAtMs,
  })

  it('is never remembered past its retry_at, and at most the negative TTL', () => {
    expect(decisionTtlMs(limited(NOW + 5_000), NOW, policy)).toBe(5_000)
    expect(decisionTtlMs(limited(NOW + 60_000), NOW, policy)).toBe(30_000)
    expect(decisionTtlMs(limited(NOW - 1), NOW, policy)).toBe(0)
    expect(decisionTtlMs(limited(null), NOW, policy)).toBe(30_000)
  })
})
