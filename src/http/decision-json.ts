import type { DecisionBody, DecisionSource } from '../schemas/can-call.js'
import { consentOf, retryAtOf, type Decision } from '../consent/decide.js'
import { isoTime } from '../lib/iso-time.js'

/** The content type Fastify would give a serialized object: set by hand when the route sends a string. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** The answer to one check: the decision as the schema words it, for the pair as asked. */
export function decisionBody(
  decision: Decision,
  source: DecisionSource,
  business: string,
  user: string,
  decisionId: string,
): DecisionBody {
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    business,
    user,
    consent: consentOf(decision),
    retry_at: retryAtOf(decision),
    can_request_permission: decision.canRequestPermission ?? null,
    source,
    checked_at: isoTime(decision.checkedAtMs),
    decision_id: decisionId,
  }
}

/**
 * `JSON.stringify(decisionBody(...))`, byte for byte (a property test holds it to that), written from the decision
 * itself: a cache hit builds no body or consent object, only this string (bench/README.md, hit path). Values the
 * gate made itself go in as they are: normalized numbers and BSUIDs, reason and source codes, ISO times and UUIDs
 * need no escaping; the consent record's free-form strings come from the upstream and are escaped.
 */
export function decisionJson(
  d: Decision,
  source: DecisionSource,
  business: string,
  user: string,
  decisionId: string,
): string {
  return (
    `{"allowed":${d.allowed},"reason":"${d.reason}","business":"${business}","user":"${user}",` +
    `"consent":${consentJson(d)},"retry_at":${d.retryAtMs == null ? 'null' : `"${isoTime(d.retryAtMs)}"`},` +
    `"can_request_permission":${d.canRequestPermission ?? null},` +
    `"source":"${source}","checked_at":"${isoTime(d.checkedAtMs)}",` +
    `"decision_id":"${decisionId}"}`
  )
}

function consentJson(d: Decision): string {
  if (d.response === null) return 'null'
  const expiresAt = d.expiresAtMs === null ? 'null' : `"${isoTime(d.expiresAtMs)}"`
  return (
    `{"response":${JSON.stringify(d.response)},"is_permanent":${d.isPermanent},` +
    `"response_source":${JSON.stringify(d.responseSource)},"can_perform_action":${d.canPerformAction},` +
    `"expires_at":${expiresAt}}`
  )
}
