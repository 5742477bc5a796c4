import { describe, expect, it } from 'vitest'
import { isTrustedDecision } from '../../../src/schemas/decision.js'
import { fromWire, fromWireMessage } from '../../../src/shared/decision-wire.js'
import { allowDecision, denyDecision } from '../../helpers/decisions.js'

const T = Date.UTC(2026, 10, 25, 12)
const DAY = 86_400_000
const KEY = '+918000000001|+919000000001'

describe('decisions on the wire', () => {
  it('reads back what it writes, allows and denies alike', () => {
    for (const d of [allowDecision(T, T + DAY), allowDecision(T, null), denyDecision(T)]) {
      expect(fromWire(JSON.parse(JSON.stringify(d)) as unknown)).toEqual(d)
    }
  })

  it('trusts no allow that its own record does not grant', () => {
    const flat = allowDecision(T, T + DAY)
    for (const bad of [
      { ...flat, response: 'reject' },
      { ...flat, canPerformAction: false },
      { ...flat, isPermanent: false, expiresAtMs: null },
      { ...flat, reason: 'consent_rejected' },
      { ...flat, allowed: 'true' },
      'garbage',
    ]) {
      expect(fromWire(bad), JSON.stringify(bad)).toBeUndefined()
    }
    expect(isTrustedDecision(flat)).toBe(true)
  })

  it('reads bus messages; an untrusted decision evicts its pair', () => {
    const wire = JSON.parse(JSON.stringify({ type: 'decision', key: KEY, decision: denyDecision(T) }))
    expect(fromWireMessage(wire)).toEqual({
      message: { type: 'decision', key: KEY, decision: denyDecision(T) },
      readable: true,
    })
    const forged = { ...allowDecision(T, T + DAY), response: null }
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
