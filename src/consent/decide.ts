import type { Consent, DecisionReason } from '../schemas/can-call.js'
import { shared, type StoredDecision } from '../schemas/decision.js'
import type { PermissionRecord } from '../upstream/port.js'
import { isoTime } from '../lib/iso-time.js'

/** What the gate remembers of one answer (see the schema for each field). */
export type Decision = StoredDecision

/** The verdict on one record, or on none. Pure: the same record and time always give the same verdict. */
export function decideReason(record: PermissionRecord | null, nowMs: number): DecisionReason {
  // A record with no response is the upstream saying there is no permission (Meta's no_permission).
  if (!record || record.response === null) return 'no_consent'
  // An expiry in the past ends any consent, whatever the other fields say.
  if (record.expiresAtMs !== null && record.expiresAtMs <= nowMs) return 'consent_expired'
  if (record.response === 'reject') return 'consent_rejected'
  if (record.response !== 'accept') return 'consent_unrecognized'
  if (!record.canPerformAction) return 'action_not_permitted'
  // A temporary permission always carries an expiry; one without it is not something we understand.
  if (record.expiresAtMs === null && !record.isPermanent) return 'consent_unrecognized'
  return 'consent_granted'
}

/** How a stricter verdict wins when Kaleyra returns several records for one pair. */
const SEVERITY: Record<DecisionReason, number> = {
  consent_granted: 0,
  no_consent: 1,
  action_not_permitted: 2,
  consent_expired: 3,
  consent_unrecognized: 4,
  consent_rejected: 5,
  // Never comes from a record: the gate adds it on top of a grant (see streaks.ts).
  unanswered_streak: 6,
  // Never comes from a record: a BSUID the gate cannot ask about (lookup.ts).
  identity_unresolved: 7,
}

/** Decides on all records Kaleyra holds for one exact pair: none is `no_consent`; several, the strictest wins. */
export function decide(records: readonly PermissionRecord[], nowMs: number): Decision {
  let chosen: PermissionRecord | null = null
  let reason: DecisionReason = 'no_consent'
  for (const record of records) {
    const r = decideReason(record, nowMs)
    // On a tie the record that expires first wins, so a cached allow never outlives any of them.
    if (
      chosen === null ||
      SEVERITY[r] > SEVERITY[reason] ||
      (SEVERITY[r] === SEVERITY[reason] && expiresFirst(record, chosen))
    ) {
      chosen = record
      reason = r
    }
  }
  return {
    origin: 'upstream',
    allowed: reason === 'consent_granted',
    reason,
    response: chosen?.response == null ? null : shared(chosen.response),
    isPermanent: chosen?.isPermanent ?? false,
    responseSource: chosen ? shared(chosen.responseSource) : '',
    canPerformAction: chosen?.canPerformAction ?? false,
    checkedAtMs: nowMs,
    expiresAtMs: chosen?.expiresAtMs ?? null,
    retryAtMs: reason === 'action_not_permitted' ? retryAt(chosen, nowMs) : null,
    canRequestPermission: chosen?.canRequestPermission ?? null,
  }
}

/**
 * When a call refused for the call limit may be tried: only that refusal waits for a time. Unknown (null) when it is
 * already past (clocks differ: the deny would not be cached at all) or when the permission expires first (by then
 * there is nothing to call on: can_request_permission says whether to ask again).
 */
function retryAt(record: PermissionRecord | null, nowMs: number): number | null {
  const at = record?.retryAtMs ?? null
  if (at === null || at <= nowMs) return null
  return record?.expiresAtMs != null && record.expiresAtMs <= at ? null : at
}

const expiresFirst = (a: PermissionRecord, b: PermissionRecord) =>
  a.expiresAtMs !== null && (b.expiresAtMs === null || a.expiresAtMs < b.expiresAtMs)

/** The consent record as an answer reports it; null when the decision rests on no record. */
export function consentOf(d: Decision): Consent | null {
  if (d.response === null) return null
  return {
    response: d.response,
    is_permanent: d.isPermanent,
    response_source: d.responseSource,
    can_perform_action: d.canPerformAction,
    expires_at: d.expiresAtMs === null ? null : isoTime(d.expiresAtMs),
  }
}

/** The answer's `retry_at`: when a call refused for the call limit may be tried again; null when unknown. */
export function retryAtOf(d: Decision): string | null {
  return d.retryAtMs == null ? null : isoTime(d.retryAtMs)
}

/**
 * A decision past its own time: an allow past its consent's expiry, or a deny past its retry_at (the call limit has
 * reset, so a "no" would lose a call). Never served, not even stale.
 */
export function outlived(d: Decision, nowMs: number): boolean {
  if (d.allowed) return d.expiresAtMs !== null && d.expiresAtMs <= nowMs
  return d.retryAtMs != null && d.retryAtMs <= nowMs
}
