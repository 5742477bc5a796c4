import { consentOf, flatDecision, type Decision } from '../consent/decide.js'
import {
  checkBusEnvelope,
  checkLegacyStoredDecision,
  isTrustedDecision,
  type BusMessage,
  type LegacyStoredDecision,
} from '../schemas/decision.js'

/**
 * Decisions as they travel through Redis (entries and bus messages). The previous release nested the consent
 * (`consent`, with an ISO `expires_at`); this one keeps it flat. During a rolling update both run against one Redis,
 * so each decision is written in both shapes at once (old gates read `consent` and ignore the rest; TypeBox objects
 * allow extra fields) and read from either.
 */
export const toWire = (decision: Decision) => ({ ...decision, consent: consentOf(decision) })

/**
 * A decision another gate wrote, of either release, as this gate keeps it; undefined when it cannot be trusted.
 * The nested `consent` is read only when the flat fields are absent: it never stands in for flat fields that
 * failed the trust check.
 */
export function fromWire(value: unknown): Decision | undefined {
  if (isTrustedDecision(value)) return flatDecision(value)
  if (typeof value !== 'object' || value === null || 'response' in value) return undefined
  if (!checkLegacyStoredDecision.Check(value)) return undefined
  const decision = fromLegacy(value)
  return isTrustedDecision(decision) ? decision : undefined
}

function fromLegacy(d: LegacyStoredDecision): Decision {
  return flatDecision({
    origin: d.origin,
    allowed: d.allowed,
    reason: d.reason,
    response: d.consent?.response ?? null,
    isPermanent: d.consent?.is_permanent ?? false,
    responseSource: d.consent?.response_source ?? '',
    canPerformAction: d.consent?.can_perform_action ?? false,
    checkedAtMs: d.checkedAtMs,
    expiresAtMs: d.expiresAtMs,
  })
}

/** What this gate publishes: a decision message carries its decision in both shapes. */
export const toWireMessage = (message: BusMessage) =>
  message.type === 'decision' ? { ...message, decision: toWire(message.decision) } : message

/**
 * A message another gate published, read; undefined when malformed. A decision message whose decision cannot be
 * trusted still names its pair: that pair is evicted here (the next check asks again), never left as it was.
 */
export function fromWireMessage(value: unknown): { message?: BusMessage; readable: boolean } {
  if (!checkBusEnvelope.Check(value)) return { readable: false }
  if (value.type !== 'decision') return { message: value as BusMessage, readable: true }
  const decision = fromWire(value.decision)
  if (decision) return { message: { type: 'decision', key: value.key, decision }, readable: true }
  return { message: { type: 'evict', key: value.key }, readable: false }
}
