import type { SimConsent } from '../../src/simulator/simulator.js'

/** The two businesses every scenario spreads its users over. */
export const BUSINESSES = ['+918000000001', '+918000000002'] as const
/** A business whose every lookup Kaleyra answers with HTTP 500 (soak: the upstream-error share of the mix). */
export const FAILING_BUSINESS = '+918000000099'

const DAY_MS = 86_400_000

/** A distinct, valid E.164 user number for each index. */
export const userNumber = (i: number): string => `+91${9_000_000_000 + i}`

export const businessFor = (i: number): string => BUSINESSES[i % BUSINESSES.length] ?? BUSINESSES[0]

/**
 * A realistic mix of what Kaleyra holds: mostly temporary accepts that expire within a month, some permanent
 * accepts, some rejects. Every accept expires well after any run, so a warm allow stays a hit.
 */
export function consentFor(i: number, nowMs: number, business = businessFor(i)): SimConsent {
  const user = userNumber(i)
  if (i % 10 === 9)
    return { business, user, response: 'reject', can_perform_action: false, is_permanent: false }
  if (i % 10 === 8)
    return { business, user, response: 'accept', can_perform_action: true, is_permanent: true }
  const expiresAt = nowMs + (1 + (i % 30)) * DAY_MS
  return { business, user, response: 'accept', can_perform_action: true, is_permanent: false, expiresAt }
}

export function consentsFor(from: number, count: number, nowMs: number): SimConsent[] {
  return Array.from({ length: count }, (_, k) => consentFor(from + k, nowMs))
}

/** The dialer's question, with the + percent-encoded as the README asks. */
export const canCallPath = (business: string, user: string): string =>
  `/can-call?business=${encodeURIComponent(business)}&user=${encodeURIComponent(user)}`

export const pairPath = (i: number): string => canCallPath(businessFor(i), userNumber(i))
