import type { SimConsent } from './simulator.js'

const HOUR_MS = 60 * 60 * 1000
const DAY_MS = 24 * HOUR_MS

export const DEMO_BUSINESS = '+918000000001'

/**
 * One memorable user per consent outcome; `noConsent` is deliberately never seeded. `bsuidGranted` is known only
 * by a BSUID: Meta's API answers it, Kaleyra's (phone numbers only) never lists it.
 */
export const DEMO_USERS = {
  temporaryGranted: '+919000000001',
  permanentGranted: '+919000000002',
  rejected: '+919000000003',
  expired: '+919000000004',
  limitReached: '+919000000005',
  noConsent: '+919000000009',
  bsuidGranted: 'IN.9000000000000000007',
} as const

/** One stored permission per reason a call is allowed or refused, with expiries relative to `nowMs`. */
export function demoConsents(nowMs: number, business: string = DEMO_BUSINESS): SimConsent[] {
  return [
    {
      business,
      user: DEMO_USERS.temporaryGranted,
      response: 'accept',
      can_perform_action: true,
      is_permanent: false,
      expiresAt: nowMs + 7 * DAY_MS,
    },
    {
      business,
      user: DEMO_USERS.permanentGranted,
      response: 'accept',
      can_perform_action: true,
      is_permanent: true,
      expiresAt: null,
    },
    {
      business,
      user: DEMO_USERS.rejected,
      response: 'reject',
      can_perform_action: false,
      is_permanent: false,
      expiresAt: null,
    },
    {
      // Kaleyra may still say can_perform_action: true after the expiry: the timestamp must win.
      business,
      user: DEMO_USERS.expired,
      response: 'accept',
      can_perform_action: true,
      is_permanent: false,
      expiresAt: nowMs - DAY_MS,
    },
    {
      // Accepted, but the business has used up the calls this permission allows; Meta says when that resets.
      business,
      user: DEMO_USERS.limitReached,
      response: 'accept',
      can_perform_action: false,
      is_permanent: false,
      expiresAt: nowMs + 3 * DAY_MS,
      startCallLimitResetsAt: nowMs + 6 * HOUR_MS,
    },
    {
      business,
      user: DEMO_USERS.bsuidGranted,
      response: 'accept',
      can_perform_action: true,
      is_permanent: true,
      expiresAt: null,
    },
  ]
}

/** What the gate answers for each demo user, by upstream: the comments of the demo's curl lines. */
export function demoChecks(upstream: 'kaleyra' | 'meta'): { user: string; expect: string }[] {
  const meta = upstream === 'meta'
  return [
    { user: DEMO_USERS.temporaryGranted, expect: 'consent_granted (temporary, 7 days)' },
    { user: DEMO_USERS.permanentGranted, expect: 'consent_granted (permanent)' },
    {
      user: DEMO_USERS.rejected,
      expect: meta ? 'no_consent (Meta reports a reject as no_permission)' : 'consent_rejected',
    },
    { user: DEMO_USERS.expired, expect: 'consent_expired' },
    {
      user: DEMO_USERS.limitReached,
      expect: meta
        ? 'action_not_permitted, retry_at in 6 h (call limit reached)'
        : 'action_not_permitted (call limit reached)',
    },
    {
      user: DEMO_USERS.noConsent,
      expect: meta ? 'no_consent, can_request_permission: true' : 'no_consent',
    },
    {
      user: DEMO_USERS.bsuidGranted,
      expect: meta
        ? 'consent_granted (permanent, a user known only by a BSUID)'
        : 'identity_unresolved (Kaleyra knows phone numbers only)',
    },
  ]
}
