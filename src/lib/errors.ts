import { randomUUID } from 'node:crypto'
import type { ErrorBody } from '../schemas/errors.js'

/**
 * The error catalogue: every failure a caller can see, with its stable reason code and HTTP status.
 * Reason codes are public contract; dialers switch on them.
 */
export const ERRORS = {
  invalid_request: { statusCode: 400, message: 'The request is invalid.' },
  unauthorized: {
    statusCode: 401,
    message: 'Send Authorization: Bearer <token> with a token the gate knows.',
  },
  not_found: { statusCode: 404, message: 'No such route.' },
  overloaded: {
    statusCode: 503,
    message: 'The gate is overloaded; it sheds this check instead of queueing it.',
  },
  upstream_unavailable: {
    statusCode: 503,
    message: 'Kaleyra could not give an answer; the gate fails closed.',
  },
  upstream_auth_failed: {
    statusCode: 503,
    message: 'Kaleyra refused the gate credentials (RBC001); the gate fails closed.',
  },
  internal_error: { statusCode: 500, message: 'The gate failed unexpectedly; it fails closed.' },
} as const

export type ErrorReason = keyof typeof ERRORS

/** An error with a public reason. Its message must never carry a secret; it reaches the caller verbatim. */
export class GateError extends Error {
  readonly reason: ErrorReason
  readonly statusCode: number
  /** Seconds a caller should wait before asking again (503 only). */
  readonly retryAfterSeconds: number | undefined

  constructor(
    reason: ErrorReason,
    message?: string,
    opts: { retryAfterSeconds?: number; cause?: unknown; statusCode?: number } = {},
  ) {
    super(message ?? ERRORS[reason].message, { cause: opts.cause })
    this.name = 'GateError'
    this.reason = reason
    this.statusCode = opts.statusCode ?? ERRORS[reason].statusCode
    this.retryAfterSeconds = opts.retryAfterSeconds
  }
}

export function invalidRequest(message: string): GateError {
  return new GateError('invalid_request', message)
}

/**
 * Anything thrown while answering, as a public error: Fastify's own 4xx (body too large, wrong content type...)
 * keep their status and message; anything else is internal, its message never shown.
 */
export function toGateError(err: unknown): GateError {
  if (err instanceof GateError) return err
  const status = (err as { statusCode?: number } | null)?.statusCode ?? 500
  if (status >= 400 && status < 500) {
    return new GateError('invalid_request', (err as Error).message, { statusCode: status })
  }
  return new GateError('internal_error', ERRORS.internal_error.message, { cause: err })
}

/** The body of an error answer; a 5xx gets its own decision_id, as any answer a dialer may log. */
export function errorBody(err: GateError): ErrorBody {
  const body: ErrorBody = { allowed: false, reason: err.reason, message: err.message }
  if (err.statusCode >= 500) body.decision_id = randomUUID()
  return body
}
