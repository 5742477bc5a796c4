import { describe, expect, it } from 'vitest'
import { checkLegacyStoredDecision, isTrustedDecision } from '../../src/schemas/decision.js'
import { fromWire, fromWireMessage, toWire, toWireMessage } from '../../src/shared/decision-wire.js'
import { allowDecision, denyDecision } from '../helpers/decisions.js'

const T = Date.UTC(2026, 10, 25, 12)
const DAY = 86_400_000
const KEY = '+918000000001|+919000000001'

/** What a gate of the previous release wrote: the consent nested. */
const legacyAllow = {
  origin: 'upstream',
  allowed: true,
  reason: 'consent_granted',
  consent: {
    response: 'accept',
    is_permanent: false,
    response_source: 'user_action',
    can_perform_action: true,
    expires_at: new Date(T + DAY).toISOString(),
  },
  checkedAtMs: T,
  expiresAtMs: T + DAY,
}
const legacyDeny = {
  ...legacyAllow,
  origin: 'event',
  allowed: false,
  reason: 'consent_rejected',
  consent: null,
}

describe('decisions on the wire', () => {
  it('writes both shapes: this release reads it back as it was, the previous one reads its consent', () => {
    for (const d of [allowDecision(T, T + DAY), allowDecision(T, null), denyDecision(T)]) {
      const wire = JSON.parse(JSON.stringify(toWire(d))) as unknown
      expect(fromWire(wire)).toEqual(d)
      expect(checkLegacyStoredDecision.Check(wire)).toBe(true)
    }
    expect(toWire(allowDecision(T, T + DAY)).consent?.expires_at).toBe(legacyAllow.consent.expires_at)
  })

  it("reads the previous release's decisions, allows and denies alike", () => {
    expect(fromWire(legacyAllow)).toEqual(allowDecision(T, T + DAY))
    expect(fromWire(legacyDeny)).toMatchObject({
      origin: 'event',
      allowed: false,
      reason: 'consent_rejected',
    })
  })

  it('trusts no allow that its own record does not grant, in either shape', () => {
    const flat = allowDecision(T, T + DAY)
    for (const bad of [
      { ...flat, response: 'reject' },
      { ...flat, canPerformAction: false },
      { ...flat, isPermanent: false, expiresAtMs: null },
      { ...flat, reason: 'consent_rejected' },
      { ...legacyAllow, consent: null },
      { ...legacyAllow, consent: { ...legacyAllow.consent, response: 'reject' } },
      { ...flat, allowed: 'true' },
      // Both shapes, the flat fields untrusted: the nested consent never stands in for them.
      { ...toWire(flat), canPerformAction: false },
      { ...toWire(flat), response: 'reject' },
      { ...toWire(flat), isPermanent: false, expiresAtMs: null },
      'garbage',
    ]) {
      expect(fromWire(bad), JSON.stringify(bad)).toBeUndefined()
    }
    expect(isTrustedDecision(flat)).toBe(true)
  })

  it('reads bus messages of either release; an untrusted decision evicts its pair', () => {
    const wire = JSON.parse(
      JSON.stringify(toWireMessage({ type: 'decision', key: KEY, decision: denyDecision(T) })),
    )
    expect(fromWireMessage(wire)).toEqual({
      message: { type: 'decision', key: KEY, decision: denyDecision(T) },
      readable: true,
    })
    expect(fromWireMessage({ type: 'decision', key: KEY, decision: legacyDeny }).message).toMatchObject({
      type: 'decision',
      decision: { allowed: false, reason: 'consent_rejected' },
    })
    const forged = { ...legacyAllow, consent: null }
    expect(fromWireMessage({ type: 'decision', key: KEY, decision: forged })).toEqual({
      message: { type: 'evict', key: KEY },
      readable: false,
    })
    expect(fromWireMessage({ type: 'streak', key: KEY, count: 2 }).message).toEqual({
      type: 'streak',
      key: KEY,
      count: 2,
    })
    expect(fromWireMessage({ type: 'decision' })).toEqual({ readable: false })
  })
})
