import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { consentOf, decide, decideReason, retryAtOf } from '../../../src/consent/decide.js'
import type { PermissionRecord } from '../../../src/upstream/port.js'

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0)
const MINUTE = 60_000
const DAY = 86_400_000

/** A temporary, actionable accept that expires in an hour: the ordinary "yes" from Kaleyra. */
function record(overrides: Partial<PermissionRecord> = {}): PermissionRecord {
  return {
    business: '+918000000001',
    user: '+919876543210',
    response: 'accept',
    isPermanent: false,
    responseSource: 'user_action',
    canPerformAction: true,
    expiresAtMs: NOW + 60 * MINUTE,
    ...overrides,
  }
}

const granted = () => record()
const rejected = () => record({ response: 'reject', canPerformAction: false })
const expired = () => record({ expiresAtMs: NOW - MINUTE })
const notPermitted = () => record({ canPerformAction: false })
const unrecognized = () => record({ response: 'pending' })

describe('decideReason', () => {
  it('answers no_consent when Kaleyra holds no record', () => {
    expect(decideReason(null, NOW)).toBe('no_consent')
  })

  it('grants an actionable accept whose expiry is still ahead', () => {
    expect(decideReason(record({ expiresAtMs: NOW + 1 }), NOW)).toBe('consent_granted')
  })

  it('grants a permanent accept that carries no expiry', () => {
    expect(decideReason(record({ isPermanent: true, expiresAtMs: null }), NOW)).toBe('consent_granted')
  })

  it('grants a permanent accept whose expiry is still ahead', () => {
    expect(decideReason(record({ isPermanent: true, expiresAtMs: NOW + DAY }), NOW)).toBe('consent_granted')
  })

  it('treats a consent as expired at the very millisecond of its expiry', () => {
    expect(decideReason(record({ expiresAtMs: NOW }), NOW)).toBe('consent_expired')
  })

  it.each([
    ['an accept', {}],
    ['a permanent accept', { isPermanent: true }],
    ['a reject', { response: 'reject', canPerformAction: false }],
    ['an accept that may not act', { canPerformAction: false }],
    ['an unknown response', { response: 'pending' }],
  ])('reports %s with an expiry in the past as consent_expired', (_label, overrides) => {
    expect(decideReason(record({ ...overrides, expiresAtMs: NOW - 1 }), NOW)).toBe('consent_expired')
  })

  it.each([
    ['an expiry ahead', NOW + MINUTE],
    ['no expiry', null],
  ])('reports a reject with %s as consent_rejected', (_label, expiresAtMs) => {
    expect(decideReason(record({ response: 'reject', canPerformAction: false, expiresAtMs }), NOW)).toBe(
      'consent_rejected',
    )
  })

  it('reports a reject as consent_rejected even if Kaleyra claims the action is allowed', () => {
    expect(decideReason(record({ response: 'reject', canPerformAction: true }), NOW)).toBe('consent_rejected')
  })

  it('reports an accept with can_perform_action false as action_not_permitted', () => {
    expect(decideReason(record({ canPerformAction: false }), NOW)).toBe('action_not_permitted')
    expect(decideReason(record({ canPerformAction: false, isPermanent: true, expiresAtMs: null }), NOW)).toBe(
      'action_not_permitted',
    )
  })

  it.each(['pending', 'ACCEPT', 'accepted', ' accept', ''])(
    'reports the unknown response %j as consent_unrecognized',
    (response) => {
      expect(decideReason(record({ response }), NOW)).toBe('consent_unrecognized')
    },
  )

  it('reports a temporary accept without an expiry as consent_unrecognized', () => {
    expect(decideReason(record({ isPermanent: false, expiresAtMs: null }), NOW)).toBe('consent_unrecognized')
  })
})

describe('decide', () => {
  it('denies with no_consent and no consent details when there are no records', () => {
    expect(decide([], NOW)).toEqual({
      origin: 'upstream',
      allowed: false,
      reason: 'no_consent',
      response: null,
      isPermanent: false,
      responseSource: '',
      canPerformAction: false,
      checkedAtMs: NOW,
      expiresAtMs: null,
      retryAtMs: null,
      canRequestPermission: null,
    })
    expect(consentOf(decide([], NOW))).toBeNull()
  })

  it('allows a granted consent and reports it with an ISO expiry', () => {
    const decision = decide([record({ expiresAtMs: Date.UTC(2026, 0, 1, 13, 30, 0) })], NOW)
    expect(decision).toEqual({
      origin: 'upstream',
      allowed: true,
      reason: 'consent_granted',
      response: 'accept',
      isPermanent: false,
      responseSource: 'user_action',
      canPerformAction: true,
      checkedAtMs: NOW,
      expiresAtMs: Date.UTC(2026, 0, 1, 13, 30, 0),
      retryAtMs: null,
      canRequestPermission: null,
    })
    expect(consentOf(decision)).toEqual({
      response: 'accept',
      is_permanent: false,
      response_source: 'user_action',
      can_perform_action: true,
      expires_at: '2026-01-01T13:30:00.000Z',
    })
  })

  it('reports a permanent consent without expiry with expires_at null', () => {
    const decision = decide(
      [record({ isPermanent: true, expiresAtMs: null, responseSource: 'meta_api' })],
      NOW,
    )
    expect(decision.allowed).toBe(true)
    expect(decision.expiresAtMs).toBeNull()
    expect(consentOf(decision)).toEqual({
      response: 'accept',
      is_permanent: true,
      response_source: 'meta_api',
      can_perform_action: true,
      expires_at: null,
    })
  })

  it('stamps the decision with the time it was asked for', () => {
    const at = Date.UTC(2026, 5, 30, 23, 59, 59)
    expect(decide([granted()], at).checkedAtMs).toBe(at)
    expect(decide([], at).checkedAtMs).toBe(at)
  })

  it.each([
    ['consent_rejected', rejected],
    ['consent_expired', expired],
    ['action_not_permitted', notPermitted],
    ['consent_unrecognized', unrecognized],
  ] as const)('denies with %s and allowed false', (reason, make) => {
    const decision = decide([make()], NOW)
    expect(decision.allowed).toBe(false)
    expect(decision.reason).toBe(reason)
  })

  describe('with several records for one pair', () => {
    it.each([
      ['a grant and a reject', granted, rejected, 'consent_rejected'],
      ['a grant and an expired consent', granted, expired, 'consent_expired'],
      ['a grant and an accept that may not act', granted, notPermitted, 'action_not_permitted'],
      ['a grant and an unknown response', granted, unrecognized, 'consent_unrecognized'],
      ['an expired consent and a reject', expired, rejected, 'consent_rejected'],
      ['an accept that may not act and a reject', notPermitted, rejected, 'consent_rejected'],
    ] as const)('lets the stricter verdict win for %s, in either order', (_label, a, b, reason) => {
      expect(decide([a(), b()], NOW).reason).toBe(reason)
      expect(decide([b(), a()], NOW).reason).toBe(reason)
    })

    it('reports the consent behind the winning verdict', () => {
      const reject = record({ response: 'reject', canPerformAction: false, responseSource: 'automatic' })
      const decision = decide([granted(), reject, granted()], NOW)
      expect(decision.allowed).toBe(false)
      expect(consentOf(decision)).toMatchObject({ response: 'reject', response_source: 'automatic' })
    })

    it('allows only when every record grants', () => {
      expect(decide([granted(), granted()], NOW).allowed).toBe(true)
      expect(decide([granted(), granted(), notPermitted()], NOW).allowed).toBe(false)
    })
  })
})

const responseArb = fc.oneof(fc.constantFrom('accept', 'reject'), fc.string())
/** Expiries around now, with now itself weighted in so the boundary is exercised. */
const expiryArb = fc.oneof(
  fc.constant(null),
  fc.constant(NOW),
  fc.integer({ min: NOW - DAY, max: NOW + DAY }),
)
const recordArb = fc.record({
  business: fc.constant('+918000000001'),
  user: fc.constant('+919876543210'),
  response: responseArb,
  isPermanent: fc.boolean(),
  responseSource: fc.constantFrom('user_action', 'automatic', 'meta_api'),
  canPerformAction: fc.boolean(),
  expiresAtMs: expiryArb,
})

const mayCall = (r: PermissionRecord, now: number) =>
  r.response === 'accept' &&
  r.canPerformAction &&
  (r.expiresAtMs === null ? r.isPermanent : r.expiresAtMs > now)

describe('decide (properties)', () => {
  it('allows exactly an actionable accept that is unexpired, or permanent without expiry', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        const decision = decide([r], NOW)
        expect(decision.allowed).toBe(mayCall(r, NOW))
        expect(decision.allowed).toBe(decision.reason === 'consent_granted')
      }),
    )
  })

  it('allows several records only when each one alone would be allowed', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 5 }), (records) => {
        expect(decide(records, NOW).allowed).toBe(records.every((r) => mayCall(r, NOW)))
      }),
    )
  })

  it('reaches the same verdict whatever order the records come in', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 5 }), (records) => {
        expect(decide([...records].reverse(), NOW).reason).toBe(decide(records, NOW).reason)
      }),
    )
  })
})

describe('decide with several granting records', () => {
  it('keeps the earliest expiry, so a cached allow never outlives any of them', () => {
    const d = decide([record({ expiresAtMs: NOW + 10 * MINUTE }), record({ expiresAtMs: NOW + MINUTE })], NOW)
    expect(d.expiresAtMs).toBe(NOW + MINUTE)
  })

  it('prefers a temporary expiry over a permanent record without one', () => {
    const d = decide(
      [record({ isPermanent: true, expiresAtMs: null }), record({ expiresAtMs: NOW + MINUTE })],
      NOW,
    )
    expect(d).toMatchObject({ allowed: true, expiresAtMs: NOW + MINUTE })
  })
})

describe('decide: what Meta adds (retry_at, can_request_permission)', () => {
  const RESET = NOW + 6 * 3600_000

  it("a record with no response is Meta's no_permission: no_consent, no consent object, but the actions are told", () => {
    const d = decide([record({ response: null, canPerformAction: false, canRequestPermission: true })], NOW)
    expect(d).toMatchObject({
      allowed: false,
      reason: 'no_consent',
      canRequestPermission: true,
      retryAtMs: null,
    })
    expect(consentOf(d)).toBeNull()
  })

  it('keeps retry_at only for action_not_permitted', () => {
    const limited = decide(
      [record({ canPerformAction: false, retryAtMs: RESET, expiresAtMs: null, isPermanent: true })],
      NOW,
    )
    expect(limited).toMatchObject({ reason: 'action_not_permitted', retryAtMs: RESET })
    expect(retryAtOf(limited)).toBe(new Date(RESET).toISOString())
    // The same reset time on records refused for anything else says nothing about when to call.
    for (const r of [
      record({ response: 'reject', retryAtMs: RESET }),
      record({ expiresAtMs: NOW - 1, retryAtMs: RESET }),
      record({ response: null, canPerformAction: false, retryAtMs: RESET }),
      record({ isPermanent: true, expiresAtMs: null, retryAtMs: RESET }),
    ])
      expect(decide([r], NOW).retryAtMs).toBeNull()
  })

  it('never allows on a record with no response, whatever else it says', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 2 * NOW }), { nil: null }),
        (isPermanent, canPerformAction, expiresAtMs) =>
          !decide([record({ response: null, isPermanent, canPerformAction, expiresAtMs })], NOW).allowed,
      ),
    )
  })
})
