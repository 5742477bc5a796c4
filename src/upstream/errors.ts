/**
 * Why Kaleyra gave no usable answer; never a decision. The first four describe an HTTP request (and label
 * metrics); `circuit_open` and `budget_exceeded` mean the gate did not send one.
 */
export type UpstreamErrorKind =
  'auth_failed' | 'rate_limited' | 'timeout' | 'error' | 'circuit_open' | 'budget_exceeded'

/** A failed upstream call. Its message is safe to show a caller: no key, no URL query, no number. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly opts: { status?: number; code?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause })
    this.name = 'UpstreamError'
  }
}

/** undici failures, by `err.code` (undici docs, Errors): the ones that mean "took too long". */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/** Maps anything thrown while talking to the upstream (named in messages) into an UpstreamError. */
export function toUpstreamError(err: unknown, upstream: string = 'Kaleyra'): UpstreamError {
  if (err instanceof UpstreamError) return err
  const e = (err ?? {}) as { code?: string; name?: string }
  if ((e.code && TIMEOUT_CODES.has(e.code)) || e.name === 'TimeoutError') {
    return new UpstreamError('timeout', `${upstream} did not answer in time`, { cause: err })
  }
  if (e.code === 'UND_ERR_ABORTED' || e.name === 'AbortError') {
    return new UpstreamError('timeout', `The check deadline passed before ${upstream} answered`, {
      cause: err,
    })
  }
  if (e.code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new UpstreamError('error', `${upstream} answered with an oversized body`, { cause: err })
  }
  const code = e.code ?? 'unknown'
  return new UpstreamError('error', `The connection to ${upstream} failed (${code})`, { cause: err, code })
}

/** Connection resets: the request may never have reached Kaleyra, and the GET is idempotent. */
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'])

/** Only resets, 5xx and 429 are retried: a timeout already spent its budget, and RBC001 or a bad body will not mend. */
export function isRetryable(err: UpstreamError): boolean {
  if (err.kind === 'rate_limited') return true
  if (err.kind !== 'error') return false
  return (err.opts.status ?? 0) >= 500 || RESET_CODES.has(err.opts.code ?? '')
}

/**
 * Whether a failed request about several business numbers may have failed for one of them alone, so that asking
 * again per business can save the others' checks: Kaleyra answered, and not with success (an HTTP error, a body or
 * code that is not WA200). Never a connection failure, a timeout, a 429 or RBC001: those are Kaleyra's state, and
 * more requests would only spend the budget live checks need.
 */
export function isPerBusinessFailure(err: unknown): boolean {
  return err instanceof UpstreamError && err.kind === 'error' && err.opts.status !== undefined
}

/** Parses a Retry-After header (seconds or HTTP date) into whole seconds, bounded to [1, 3600]. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  if (!raw) return undefined
  const seconds = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : (Date.parse(raw) - nowMs) / 1000
  if (!Number.isFinite(seconds)) return undefined
  return Math.min(3600, Math.max(1, Math.ceil(seconds)))
}
