import type { paths } from './openapi-types.js'

type CanCallRoute = paths['/can-call']['get']
type BatchRoute = paths['/can-call/batch']['post']
type OutcomesRoute = paths['/call-outcomes']['post']
type Json<T extends { content: { 'application/json': unknown } }> = T['content']['application/json']

/** A decision exactly as the gate sends it (200 of `GET /can-call`). */
export type Decision = Json<CanCallRoute['responses'][200]>
/** The reasons a decision can carry; `consent_granted` is the only one with `allowed: true`. */
export type DecisionReason = Decision['reason']
/** The reasons of a decision that says no: the consent (or its absence) decided it. */
export type DenyReason = Exclude<DecisionReason, 'consent_granted'>

/** The error codes `GET /can-call` documents (400, 401, 503), plus those any route can answer. */
export type GateErrorCode =
  Json<CanCallRoute['responses'][400 | 401 | 503]>['reason'] | 'internal_error' | 'not_found'

/** The client's own code: no answer from the gate in time, or an answer that is not the gate's. */
export type ClientErrorCode = 'gate_unreachable'

/** One check: `fresh: true` skips the gate's cache for it; `priority: 'bulk'` lets live checks go first. */
export type CanCallQuery = CanCallRoute['parameters']['query']
/** Live checks go first for the upstream budget; bulk work (pre-checks) uses what they leave. */
export type Priority = NonNullable<NonNullable<BatchRoute['parameters']['query']>['priority']>
/** One pair of a batch. */
export type BatchCheck = Json<BatchRoute['requestBody']>['checks'][number]
/** One result of a batch exactly as the gate sends it: a decision, or an error body for that pair alone. */
export type BatchItem = Json<BatchRoute['responses'][200]>['results'][number]
/** One call outcome report. */
export type CallOutcome = Exclude<Json<OutcomesRoute['requestBody']>, readonly unknown[]>
/** What the gate did with one reported outcome. */
export type OutcomeResult = Json<OutcomesRoute['responses'][200]>['results'][number]

/** The gate said yes: the newest fact it knows about the pair is a valid grant. The only result to call on. */
export type Allowed = Omit<Decision, 'allowed' | 'reason'> & {
  verdict: 'allowed'
  allowed: true
  reason: 'consent_granted'
}

/** The gate decided no from the consent: rejected, expired, absent, not permitted... Do not call. */
export type Denied = Omit<Decision, 'allowed' | 'reason'> & {
  verdict: 'denied'
  allowed: false
  reason: DenyReason
}

/**
 * No decision could be had: the gate was unreachable or slow (`gate_unreachable`), Kaleyra failed
 * (`upstream_unavailable`), the gate shed load (`overloaded`), or the request was refused (`invalid_request`,
 * `unauthorized`). Do not call; try again later (after `retry_after_seconds` when given), except for
 * `invalid_request` and `unauthorized`, which the same request will get again.
 */
export interface Undetermined {
  verdict: 'undetermined'
  allowed: false
  /** The gate's error code, `gate_unreachable`, or a code of a newer gate this client does not know yet. */
  reason: GateErrorCode | ClientErrorCode | (string & {})
  message: string
  /** The gate's `Retry-After`, when it sent one. */
  retry_after_seconds?: number
  /** The gate's id of a 5xx answer, to find it in the gate's logs. */
  decision_id?: string
  /** The HTTP status of the gate's answer; absent when there was no answer. */
  status?: number
}

/**
 * What `canCall` answers, never throwing: switch on `verdict`. Only `allowed` permits the call; `denied` and
 * `undetermined` both mean no, for different reasons (consent said no; nobody could say).
 */
export type CanCallResult = Allowed | Denied | Undetermined

/** `canCallBatch`: one result per check, in request order. */
export interface BatchResult {
  results: CanCallResult[]
}

/** `reportOutcomes`: one result per outcome, in request order. */
export interface OutcomesResult {
  results: OutcomeResult[]
}

export interface BatchOptions {
  /** `bulk` for campaign pre-checks, so live checks keep their place; default: the gate decides by size. */
  priority?: Priority
}

export interface ClientOptions {
  /** The gate's address, such as `http://127.0.0.1:8080`; a path prefix is kept (a gate behind a proxy). */
  baseUrl: string | URL
  /** The caller token (`Authorization: Bearer`); never put in an error, a message or a result. */
  token?: string
  /**
   * Bound on each request from start to the last byte of the answer. Default 5000: longer than the gate's own
   * default check deadline (2 x UPSTREAM_TIMEOUT_MS), so a gate that gives up on Kaleyra answers first.
   */
  timeoutMs?: number
  /** Keep-alive connections to the gate at most; more concurrent requests wait for one. Default 64. */
  maxConnections?: number
}

export interface ConsentGateClient {
  /** One decision; never throws and never rejects: any problem answers `undetermined`, which is a no. */
  canCall(query: CanCallQuery): Promise<CanCallResult>
  /** Up to 1000 checks in one request; throws ConsentGateError when the whole request fails. */
  canCallBatch(checks: readonly BatchCheck[], opts?: BatchOptions): Promise<BatchResult>
  /** Call outcomes (one or up to 1000); throws ConsentGateError when the request fails. Never retried. */
  reportOutcomes(outcomes: CallOutcome | readonly CallOutcome[]): Promise<OutcomesResult>
  /** Closes the keep-alive connections; requests in flight end as unreachable, later ones fail at once. */
  close(): Promise<void>
}
