import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { GateError } from '../errors.js'
import type { PermissionRecord } from '../kaleyra/client.js'
import { toUpstreamError, type UpstreamError, type UpstreamErrorKind } from '../kaleyra/errors.js'
import type { DecisionSource } from '../schemas/can-call.js'
import { pairKey, type DecisionCache } from './cache.js'
import { decide, type Decision } from './decide.js'

export interface LookupResult {
  decision: Decision
  source: DecisionSource
  /** How the cache answered: a hit, a miss that asked Kaleyra, or a miss that joined one already in flight. */
  cache: 'hit' | 'miss' | 'coalesced'
  /** Time spent waiting for Kaleyra, on misses. */
  upstreamMs?: number
}

export interface ConsentLookup {
  /** Decides for a normalized pair. Throws GateError (503) when Kaleyra cannot answer; fails closed. */
  check(business: string, user: string, opts?: { fresh?: boolean }): Promise<LookupResult>
}

export interface ConsentLookupOptions {
  cache: DecisionCache
  /** Kaleyra's records for exactly one pair (the micro-batcher). Throws on upstream failure. */
  find: (business: string, user: string) => Promise<PermissionRecord[]>
  clock: Clock
  logger: Logger
  /** Called once per check with how the cache answered (metrics). */
  observe?: (result: LookupResult['cache']) => void
}

/** Retry-After hints, in seconds, for answers Kaleyra could not give (an error's own value wins). */
const RETRY_AFTER_SECONDS: Record<UpstreamErrorKind, number> = {
  auth_failed: 30,
  rate_limited: 1,
  timeout: 1,
  error: 1,
  circuit_open: 1,
  budget_exceeded: 1,
}

export function createConsentLookup(opts: ConsentLookupOptions): ConsentLookup {
  const { cache, clock } = opts
  const log = opts.logger.child({ module: 'lookup' })
  // Concurrent misses for one pair share one upstream request. lru-cache's fetch() coalesces too, but it
  // always stores what it fetched, and a decision whose TTL computes to 0 must not be stored at all.
  const inflight = new Map<string, Promise<{ decision: Decision; upstreamMs: number }>>()

  async function load(key: string, business: string, user: string) {
    const started = performance.now()
    try {
      const decision = decide(await opts.find(business, user), clock.now())
      cache.set(key, decision)
      log.debug({ reason: decision.reason }, 'kaleyra answered')
      return { decision, upstreamMs: performance.now() - started }
    } catch (err) {
      throw toGateError(toUpstreamError(err))
    }
  }

  return {
    async check(business, user, { fresh = false } = {}) {
      const key = pairKey(business, user)
      if (!fresh) {
        const hit = cache.get(key)
        if (hit) {
          opts.observe?.('hit')
          return { decision: hit, source: 'cache', cache: 'hit' }
        }
      }
      let pending = inflight.get(key)
      const kind = pending ? 'coalesced' : 'miss'
      if (!pending) {
        pending = load(key, business, user).finally(() => inflight.delete(key))
        inflight.set(key, pending)
      }
      opts.observe?.(kind)
      try {
        return { ...(await pending), source: 'upstream', cache: kind }
      } catch (err) {
        // Stale-if-error (off unless configured): the cache bounds it, and never past an allow's expiry.
        const stale = cache.getStale(key)
        if (stale) return { decision: stale, source: 'stale', cache: kind }
        throw err
      }
    },
  }
}

function toGateError(err: UpstreamError): GateError {
  const retryAfterSeconds = err.opts.retryAfterSeconds ?? RETRY_AFTER_SECONDS[err.kind]
  const reason = err.kind === 'auth_failed' ? 'upstream_auth_failed' : 'upstream_unavailable'
  return new GateError(reason, err.message, { retryAfterSeconds, cause: err })
}
