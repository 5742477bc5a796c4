import type { Decision } from '../../src/consent/decide.js'
import type { DecisionReason } from '../../src/schemas/can-call.js'

/** A grant Kaleyra gave at `checkedAtMs`; permanent when `expiresAtMs` is null. */
export function allowDecision(checkedAtMs: number, expiresAtMs: number | null): Decision {
  return {
    origin: 'upstream',
    allowed: true,
    reason: 'consent_granted',
    response: 'accept',
    isPermanent: expiresAtMs === null,
    responseSource: 'user_action',
    canPerformAction: true,
    checkedAtMs,
    expiresAtMs,
    retryAtMs: null,
    canRequestPermission: null,
  }
}

export function denyDecision(
  checkedAtMs: number,
  reason: Exclude<DecisionReason, 'consent_granted'> = 'consent_rejected',
  expiresAtMs: number | null = null,
): Decision {
  return {
    origin: 'upstream',
    allowed: false,
    reason,
    response: null,
    isPermanent: false,
    responseSource: '',
    canPerformAction: false,
    checkedAtMs,
    expiresAtMs,
    retryAtMs: null,
    canRequestPermission: null,
  }
}
