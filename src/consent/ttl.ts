import type { Decision } from './decide.js'

export interface TtlPolicy {
  /** Cap on how long an allow is trusted without asking again (CACHE_MAX_TTL_SECONDS). */
  maxTtlMs: number
  /** How long any deny is remembered (CACHE_NEGATIVE_TTL_SECONDS). */
  negativeTtlMs: number
}

/**
 * How long a decision may be served from cache, in ms; 0 means "do not cache".
 * An allow lives `min(expires_at - now, cap)`, so it is never served past the consent's own expiry; a deny
 * `min(negative TTL, retry_at - now)`.
 */
export function decisionTtlMs(decision: Decision, nowMs: number, policy: TtlPolicy): number {
  // A deny that says when the call limit resets is never remembered past that time.
  if (!decision.allowed)
    return Math.max(0, Math.min(policy.negativeTtlMs, (decision.retryAtMs ?? Infinity) - nowMs))
  const untilExpiry = decision.expiresAtMs === null ? Infinity : decision.expiresAtMs - nowMs
  return Math.max(0, Math.min(untilExpiry, policy.maxTtlMs))
}
