import type { ClientErrorCode, GateErrorCode } from './types.js'

export interface ConsentGateErrorInit {
  /** The HTTP status of the gate's answer; absent when there was none (unreachable, timed out). */
  status?: number | undefined
  code: GateErrorCode | ClientErrorCode | (string & {})
  message: string
  retryAfterSeconds?: number | undefined
}

/**
 * A whole request of `canCallBatch` or `reportOutcomes` failed: `code` is the gate's error code (`overloaded`,
 * `upstream_unavailable`, `invalid_request`, `unauthorized`...) or `gate_unreachable`. `retryAfterSeconds` is
 * the gate's Retry-After, for backing off. It never carries the token or the request.
 */
export class ConsentGateError extends Error {
  override readonly name = 'ConsentGateError'
  readonly status: number | undefined
  readonly code: ConsentGateErrorInit['code']
  readonly retryAfterSeconds: number | undefined

  constructor(init: ConsentGateErrorInit) {
    super(init.message)
    this.status = init.status
    this.code = init.code
    this.retryAfterSeconds = init.retryAfterSeconds
  }
}
