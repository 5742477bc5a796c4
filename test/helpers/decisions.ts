import type { Decision } from '../../src/consent/decide.js'
import type { DecisionReason } from '../../src/schemas/can-call.js'

/** A grant Kaleyra gave at `checkedAtMs`; permanent when `expiresAtMs` is null. */
export function allowDecision(checkedAtMs: number, expiresAtMs: number | null): Decision {
  return {
    origin: 'upstream',
    allowed: true,
    reason: 'consent_granted',
    consent: {
      response: 'accept',
      is_permanent: expiresAtMs === null,
      response_source: 'user_action',
      can_perform_action: true,
      expires_at: expiresAtMs === null ? null : new Date(expiresAtMs).toISOString(),
    },
    checkedAtMs,
    expiresAtMs,
  }
}

export function denyDecision(
  checkedAtMs: number,
  reason: Exclude<DecisionReason, 'consent_granted'> = 'consent_rejected',
  expiresAtMs: number | null = null,
): Decision {
  return { origin: 'upstream', allowed: false, reason, consent: null, checkedAtMs, expiresAtMs }
}
