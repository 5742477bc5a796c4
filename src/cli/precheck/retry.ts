/** How undetermined rows are asked again: a bounded number of times, with backoff, honouring Retry-After. */
export interface RetryPolicy {
  /** Asks after the first, per row; 0 never retries. Default 5. */
  retries: number
  /** First backoff (ms) when the gate gives no Retry-After; doubles each attempt. Default 1000. */
  baseMs: number
  /** Ceiling on one pause (ms), Retry-After included, so a bad header cannot park a run. Default 30000. */
  maxMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, baseMs: 1000, maxMs: 30_000 }

/**
 * The pause before retry number `attempt` (1 for the first retry). The gate's Retry-After wins when it gives one;
 * otherwise exponential backoff with jitter in [half, full], so many chunks failing together do not come back
 * together.
 */
export function retryDelayMs(
  attempt: number,
  retryAfterSeconds: number | undefined,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0) {
    return Math.min(retryAfterSeconds * 1000, policy.maxMs)
  }
  const full = Math.min(policy.baseMs * 2 ** Math.max(0, attempt - 1), policy.maxMs)
  return Math.round(full / 2 + (random() * full) / 2)
}
