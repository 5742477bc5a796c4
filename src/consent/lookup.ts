import type { Logger } from 'pino'
import type { Clock } from '../clock.js'
import { GateError } from '../errors.js'
import type { PermissionRecord } from '../kaleyra/client.js'
import { toUpstreamError, type UpstreamError, type UpstreamErrorKind } from '../kaleyra/errors.js'
import type { DecisionSource } from '../schemas/can-call.js'
import { pairKey, type DecisionCache } from './cache.js'
import { decide, type Decision } from './decide.js'
import type { SharedDecision, SharedTier } from '../shared/redis-tier.js'

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
  /** True while the pair's unanswered-call streak is at its limit: an allow turns into `unanswered_streak`. */
  streakBlocked?: (key: string) => boolean
  /** When an event last wrote the pair: a lookup that started earlier must not overwrite it. */
  lastEventAt?: (key: string) => number | undefined
  /** The shared tier (REDIS_URL): read before Kaleyra, written after, one fetch per cold pair across the fleet. */
  shared?: Pick<
    SharedTier,
    'readDecision' | 'writeDecision' | 'acquireFetch' | 'releaseFetch' | 'awaitDecision'
  >
  /** How long a gate waits for another gate fetching the same pair before fetching itself. */
  sharedWaitMs?: number
}

interface Loaded {
  decision: Decision
  /** Time spent waiting for Kaleyra; absent when another gate's answer was used. */
  upstreamMs?: number
  /** Taken from the shared tier. */
  shared?: boolean
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
  const inflight = new Map<string, Promise<Loaded>>()
  const { shared } = opts

  /** The fleet's answer: another gate's stored decision, or the one it is fetching right now. */
  async function fromShared(key: string): Promise<{ found?: SharedDecision; leader: boolean }> {
    if (!shared) return { leader: false }
    const stored = usable(await shared.readDecision(key))
    if (stored) return { found: stored, leader: false }
    if (await shared.acquireFetch(key)) return { leader: true }
    const found = usable(await shared.awaitDecision(key, opts.sharedWaitMs ?? 0))
    // The fetching gate gave up or took too long: ask Kaleyra ourselves, as a gate alone would.
    return found ? { found, leader: false } : { leader: await shared.acquireFetch(key) }
  }

  /** Another gate's clock may run behind: a shared allow at or past its consent's expiry is no answer. */
  function usable(found: SharedDecision | undefined): SharedDecision | undefined {
    if (!found) return undefined
    const { decision } = found
    return decision.allowed && decision.expiresAtMs !== null && decision.expiresAtMs <= clock.now()
      ? undefined
      : found
  }

  async function load(key: string, business: string, user: string): Promise<Loaded> {
    const started = performance.now()
    const startedAt = clock.now()
    const { found, leader } = await fromShared(key)
    if (found) {
      cache.set(key, found.decision, found.ttlMs)
      return { decision: found.decision, shared: true }
    }
    try {
      const decision = decide(await opts.find(business, user), clock.now())
      // A permission reply that arrived while Kaleyra was being asked is newer than its answer.
      const overtaken = (opts.lastEventAt?.(key) ?? -Infinity) >= startedAt && cache.get(key)
      if (overtaken) return { decision: overtaken, upstreamMs: performance.now() - started }
      const ttlMs = cache.set(key, decision)
      shared?.writeDecision(key, decision, ttlMs)
      log.debug({ reason: decision.reason }, 'kaleyra answered')
      return { decision, upstreamMs: performance.now() - started }
    } catch (err) {
      throw toGateError(toUpstreamError(err))
    } finally {
      if (leader) shared?.releaseFetch(key)
    }
  }

  /** A grant the dialer must not use: the pair has gone unanswered too often in a row. */
  function withStreak(key: string, result: LookupResult): LookupResult {
    if (!result.decision.allowed || !opts.streakBlocked?.(key)) return result
    return { ...result, decision: { ...result.decision, allowed: false, reason: 'unanswered_streak' } }
  }

  const sourceOf = (d: Decision, fallback: DecisionSource): DecisionSource =>
    d.origin === 'event' ? 'event' : fallback

  async function miss(key: string, business: string, user: string): Promise<LookupResult> {
    let pending = inflight.get(key)
    const kind = pending ? 'coalesced' : 'miss'
    if (!pending) {
      pending = load(key, business, user).finally(() => inflight.delete(key))
      inflight.set(key, pending)
    }
    opts.observe?.(kind)
    try {
      const { decision, upstreamMs, shared: fromFleet } = await pending
      return {
        decision,
        upstreamMs,
        source: sourceOf(decision, fromFleet ? 'cache' : 'upstream'),
        cache: kind,
      }
    } catch (err) {
      // Stale-if-error (off unless configured): the cache bounds it, and never past an allow's expiry.
      const stale = cache.getStale(key)
      if (stale) return { decision: stale, source: 'stale', cache: kind }
      throw err
    }
  }

  return {
    async check(business, user, options) {
      const key = pairKey(business, user)
      if (options?.fresh !== true) {
        const hit = cache.get(key)
        if (hit) {
          opts.observe?.('hit')
          return withStreak(key, { decision: hit, source: sourceOf(hit, 'cache'), cache: 'hit' })
        }
      }
      return withStreak(key, await miss(key, business, user))
    },
  }
}

function toGateError(err: UpstreamError): GateError {
  const retryAfterSeconds = err.opts.retryAfterSeconds ?? RETRY_AFTER_SECONDS[err.kind]
  const reason = err.kind === 'auth_failed' ? 'upstream_auth_failed' : 'upstream_unavailable'
  return new GateError(reason, err.message, { retryAfterSeconds, cause: err })
}
