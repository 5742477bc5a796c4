import type { SimConsent } from './simulator.js'

const DAY_MS = 24 * 60 * 60 * 1000

export const DEMO_BUSINESS = '+918000000001'

/** One memorable user number per consent outcome; `noConsent` is deliberately never seeded. */
export const DEMO_USERS = {
  temporaryGranted: '+919000000001',
  permanentGranted: '+919000000002',
  rejected: '+919000000003',
  expired: '+919000000004',
  limitReached: '+919000000005',
  noConsent: '+919000000009',
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
      // Accepted, but the business has used up the calls this permission allows.
      business,
      user: DEMO_USERS.limitReached,
      response: 'accept',
      can_perform_action: false,
      is_permanent: false,
      expiresAt: nowMs + 3 * DAY_MS,
    },
  ]
}
