import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { GateError } from '../errors.js'
import type { KaleyraClient } from '../kaleyra/client.js'
import type { UpstreamError } from '../kaleyra/errors.js'
import { toUpstreamError } from '../kaleyra/errors.js'
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
  client: KaleyraClient
  clock: Clock
  logger: Logger
  /** Called once per check with how the cache answered (metrics). */
  observe?: (result: LookupResult['cache']) => void
}

/** Retry-After hints, in seconds, for answers Kaleyra could not give. */
const RETRY_AFTER_SECONDS = { auth_failed: 30, rate_limited: 1, timeout: 1, error: 1 } as const

export function createConsentLookup(opts: ConsentLookupOptions): ConsentLookup {
  const { cache, client, clock } = opts
  const log = opts.logger.child({ module: 'lookup' })
  // Concurrent misses for one pair share one upstream request. lru-cache's fetch() coalesces too, but it
  // always stores what it fetched, and a decision whose TTL computes to 0 must not be stored at all.
  const inflight = new Map<string, Promise<{ decision: Decision; upstreamMs: number }>>()

  async function load(key: string, business: string, user: string) {
    const started = performance.now()
    try {
      const records = await client.findPair(business, user)
      const decision = decide(records, clock.now())
      cache.set(key, decision)
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
      const pending = inflight.get(key)
      if (pending) {
        opts.observe?.('coalesced')
        return { ...(await pending), source: 'upstream', cache: 'coalesced' }
      }
      opts.observe?.('miss')
      const p = load(key, business, user).finally(() => inflight.delete(key))
      inflight.set(key, p)
      const { decision, upstreamMs } = await p
      log.debug({ reason: decision.reason, upstreamMs }, 'kaleyra answered')
      return { decision, upstreamMs, source: 'upstream', cache: 'miss' }
    },
  }
}

function toGateError(err: UpstreamError): GateError {
  const retryAfterSeconds = err.opts.retryAfterSeconds ?? RETRY_AFTER_SECONDS[err.kind]
  const reason = err.kind === 'auth_failed' ? 'upstream_auth_failed' : 'upstream_unavailable'
  return new GateError(reason, err.message, { retryAfterSeconds, cause: err })
}
