import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import { GateError } from '../lib/errors.js'
import type { PermissionRecord, Priority } from '../upstream/port.js'
import { toUpstreamError, type UpstreamError, type UpstreamErrorKind } from '../upstream/errors.js'
import type { DecisionSource } from '../schemas/can-call.js'
import { pairKey, type DecisionCache } from './cache.js'
import { decide, type Decision } from './decide.js'
import type { ConsentEvents } from './events/events.js'
import type { PairFacts } from './facts.js'
import { askFleet, type FleetTier } from './fleet.js'
import type { IdentityLinks } from './identities.js'
import type { KnownBusinesses } from './businesses.js'
import { isBsuid } from '../lib/identity.js'

export interface LookupResult {
  decision: Decision
  source: DecisionSource
  /** How the cache answered: a hit, a miss, a miss that joined one in flight, or one the fleet answered. */
  cache: 'hit' | 'miss' | 'coalesced' | 'shared'
  /** Time spent waiting for Kaleyra, on misses. */
  upstreamMs?: number
}

/** Where a cached decision came from, as the answer says: a webhook or call outcome, or an upstream answer. */
export const hitSource = (decision: Decision): 'event' | 'cache' =>
  decision.origin === 'event' ? 'event' : 'cache'

export interface ConsentLookup {
  /**
   * The cache's decision for a normalized pair, synchronously, or undefined on a miss: the hot path builds no
   * promise and no wrapper for a hit (its source is hitSource()). Counts the hit. check() gives the same answer.
   */
  cached(business: string, user: string): Decision | undefined
  /**
   * Decides for a normalized pair. Throws GateError (503) when Kaleyra cannot answer; fails closed. `priority`
   * (default live) is the class a miss waits for the upstream budget in (priorityOf).
   */
  check(
    business: string,
    user: string,
    opts?: { fresh?: boolean; priority?: Priority },
  ): Promise<LookupResult>
}

/**
 * Largest batch request that is still live work: a dialer checking a handful of numbers before a call. Beyond it,
 * a batch is a pre-check, whatever it asks for.
 */
export const LIVE_BATCH_MAX_PAIRS = 4

/**
 * The class of a request's misses: bulk when asked, or when it holds more pairs than a live batch; `live` never
 * raises a large batch, so a campaign cannot take the live share by asking for it.
 */
export function priorityOf(requested: Priority | undefined, pairs: number): Priority {
  return requested === 'bulk' || pairs > LIVE_BATCH_MAX_PAIRS ? 'bulk' : 'live'
}

export interface ConsentLookupOptions {
  cache: DecisionCache
  /** Kaleyra's records for exactly one pair (the micro-batcher), in a batch of its class. Throws on upstream failure. */
  find: (business: string, user: string, priority: Priority) => Promise<PermissionRecord[]>
  clock: Clock
  logger: Logger
  /** Bound on a whole miss (CHECK_DEADLINE_MS): fleet wait, batching window, retries. */
  deadlineMs: number
  /** Called once per check with how the cache answered (metrics). */
  observe?: (result: LookupResult['cache']) => void
  /** True while the pair's unanswered-call streak is at its limit: an allow turns into `unanswered_streak`. */
  streakBlocked?: (key: string) => boolean
  /** The newest fact known per pair: orders each answer against events that overtook it. */
  facts: Pick<PairFacts, 'mark' | 'settle' | 'usable'>
  /** The fleet's streaks. */
  events?: Pick<ConsentEvents, 'syncStreak'>
  /** The shared tier (REDIS_URL): read before Kaleyra, written after, one fetch per cold pair across the fleet. */
  shared?: FleetTier
  /** Which BSUIDs are which phone numbers: a linked BSUID's pair is its number's. */
  identities?: Pick<IdentityLinks, 'localPhoneOf' | 'phoneOf'>
  /**
   * Whether the upstream can be asked about a BSUID (Meta). When not (Kaleyra), a BSUID with no known number is
   * answered from events, or `identity_unresolved`.
   */
  asksBsuid?: boolean
  /** Names the upstream in messages (default Kaleyra). */
  upstreamName?: string
  /** Every business asked about is noted: identity changes find a user's pairs by business (businesses.ts). */
  businesses?: Pick<KnownBusinesses, 'note'>
}

interface Loaded {
  decision: Decision
  /** Time spent waiting for Kaleyra; absent when another gate's answer was used. */
  upstreamMs?: number
  /** cache: another lookup of the pair answered first, and its answer is the newest (ask()). */
  from: 'upstream' | 'shared' | 'cache'
}

const DEADLINE_MARGIN_MS = 50

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
  const { cache, clock, shared, events, facts, identities } = opts
  const upstreamName = opts.upstreamName ?? 'Kaleyra'
  const log = opts.logger.child({ module: 'lookup' })
  // Concurrent misses for one pair share one upstream request. lru-cache's fetch() coalesces too, but it
  // always stores what it fetched, and a decision whose TTL computes to 0 must not be stored at all.
  const inflight = new Map<string, { pending: Promise<Loaded>; priority: Priority }>()

  /** How a miss asks: its class, and whether it may wait for the fleet (another gate's fetch of the pair). */
  interface Asking {
    priority: Priority
    askFleet: boolean
    /** A fresh check skips the cache: an answer already there never stands in for its own. */
    fresh: boolean
  }

  async function load(key: string, business: string, user: string, how: Asking): Promise<Loaded> {
    const started = performance.now()
    const mark = facts.mark(key)
    // Half the deadline for another gate's fetch, so our own still fits in what is left.
    const fleet =
      shared && how.askFleet ? await askFleet(shared, key, opts.deadlineMs / 2, clock) : { leader: false }
    try {
      // Redis answers only with a fact at least as new as every fact this gate knows of the pair, and that fact
      // becomes this gate's too.
      const found = fleet.found && facts.usable(key, fleet.found.decision, mark) ? fleet.found : undefined
      if (found && facts.settle(key, found.decision, mark).store) {
        cache.set(key, found.decision, found.ttlMs)
        if (found.decision.allowed) await events?.syncStreak(key)
        return { decision: found.decision, from: 'shared' }
      }
      return await ask(key, business, user, how, started)
    } finally {
      if (fleet.leader) shared?.releaseFetch(key)
    }
  }

  /**
   * Asks Kaleyra, and orders its answer against whatever happened to the pair meanwhile (consent/facts.ts). When
   * an eviction overtook a grant, the grant cannot be shown newest: ask once more, then give up (503).
   */
  async function ask(
    key: string,
    business: string,
    user: string,
    how: Asking,
    started: number,
    again = 1,
  ): Promise<Loaded> {
    const mark = facts.mark(key)
    let decision: Decision
    try {
      decision = decide(await opts.find(business, user, how.priority), clock.now())
    } catch (err) {
      throw fromUpstream(toUpstreamError(err, upstreamName))
    }
    const upstreamMs = performance.now() - started
    const settled = facts.settle(key, decision, mark)
    if (settled.store) {
      const ttlMs = cache.set(key, decision)
      // Other gates gain from it, but no check waits for it: a lost write only costs them a Kaleyra request.
      void shared?.writeFact(key, decision, ttlMs, 'upstream', mark.atMs)
      if (decision.allowed) await events?.syncStreak(key)
      log.debug({ reason: decision.reason }, 'kaleyra answered')
    } else if (!decision.allowed) {
      // A refused deny is now the pair's newest fact (facts.ts), and whatever the cache holds is older: a live and
      // a bulk lookup of one pair, the later answer a reject. The next check asks Kaleyra again.
      cache.delete(key)
    }
    if (settled.decision) return { decision: settled.decision, upstreamMs, from: 'upstream' }
    // Overtaken by another lookup's Kaleyra answer that arrived after this one asked (a live check that overtook
    // a bulk one usually finishes after it): the cache holds that answer, what a check arriving now gets. Anything
    // older, an event's or an eviction's absence, or a fresh check: ask again.
    const current = how.fresh ? undefined : cache.get(key)
    if (current && current.origin === 'upstream' && current.checkedAtMs >= mark.atMs)
      return { decision: current, upstreamMs, from: 'cache' }
    if (again > 0) return ask(key, business, user, how, started, again - 1)
    throw new GateError('upstream_unavailable', `The consent changed while ${upstreamName} was being asked`, {
      retryAfterSeconds: 1,
    })
  }

  /**
   * The miss answers within the deadline whatever happens below it (fleet wait, batching window, retries); a
   * late answer still fills the cache. The margin lets the Kaleyra layer report its own cause first.
   */
  function withinDeadline(pending: Promise<Loaded>): Promise<Loaded> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new GateError(
              'upstream_unavailable',
              `The check deadline passed before ${upstreamName} answered`,
              {
                retryAfterSeconds: 1,
              },
            ),
          ),
        opts.deadlineMs + DEADLINE_MARGIN_MS,
      )
    })
    return Promise.race([pending, late]).finally(() => clearTimeout(timer))
  }

  async function miss(
    key: string,
    business: string,
    user: string,
    fresh: boolean,
    priority: Priority,
  ): Promise<LookupResult> {
    const running = fresh ? undefined : inflight.get(key)
    // A live check never waits behind a pre-check: it does not join a bulk lookup of the pair, it asks in a live
    // batch of its own (one more pair for Kaleyra, only when a dialer calls a number a campaign is checking).
    const overtakes = running?.priority === 'bulk' && priority === 'live'
    let pending = overtakes ? undefined : running?.pending
    const coalesced = pending !== undefined
    if (!pending) {
      // Neither a fresh check nor one overtaking this gate's own bulk fetch waits on the fleet's fetch lock.
      const entry = {
        pending: load(key, business, user, { priority, askFleet: !fresh && !overtakes, fresh }).finally(
          () => {
            if (inflight.get(key) === entry) inflight.delete(key)
          },
        ),
        priority,
      }
      pending = entry.pending
      // A fresh check joins no earlier lookup, but later ones may join it.
      inflight.set(key, entry)
    }
    try {
      const { decision, upstreamMs, from } = await withinDeadline(pending)
      const kind = coalesced ? 'coalesced' : from === 'shared' ? 'shared' : 'miss'
      opts.observe?.(kind)
      const source = decision.origin === 'event' ? 'event' : from === 'upstream' ? 'upstream' : 'cache'
      return { decision, upstreamMs, source, cache: kind }
    } catch (err) {
      opts.observe?.(coalesced ? 'coalesced' : 'miss')
      // Stale-if-error (off unless configured): the cache bounds it, and never past an allow's expiry.
      const stale = cache.getStale(key)
      if (stale) return { decision: stale, source: 'stale', cache: coalesced ? 'coalesced' : 'miss' }
      throw err
    }
  }

  /** A grant the dialer must not use: the pair has gone unanswered too often in a row. */
  function streaked(key: string, decision: Decision): Decision {
    if (!decision.allowed || !opts.streakBlocked?.(key)) return decision
    return { ...decision, allowed: false, reason: 'unanswered_streak' }
  }

  function withStreak(key: string, result: LookupResult): LookupResult {
    const decision = streaked(key, result.decision)
    return decision === result.decision ? result : { ...result, decision }
  }

  function hitByKey(key: string): Decision | undefined {
    const hit = cache.get(key)
    if (!hit) return undefined
    opts.observe?.('hit')
    return streaked(key, hit)
  }

  function cachedByKey(key: string): LookupResult | undefined {
    const decision = hitByKey(key)
    return decision && { decision, source: hitSource(decision), cache: 'hit' }
  }

  /**
   * The identity a user's pair is kept and asked under, synchronously: a BSUID linked to a number is that number;
   * undefined when only the fleet could say (a BSUID this gate knows no number for, with REDIS_URL).
   */
  function localIdentity(user: string): string | undefined {
    if (!identities || !isBsuid(user)) return user
    return identities.localPhoneOf(user) ?? (shared ? undefined : user)
  }

  /** A BSUID nobody can be asked about: no number is known for it and the upstream knows numbers only. */
  function unresolved(): LookupResult {
    const decision: Decision = {
      ...decide([], clock.now()),
      allowed: false,
      reason: 'identity_unresolved',
    }
    opts.observe?.('miss')
    return { decision, source: 'none', cache: 'miss' }
  }

  return {
    cached(business, user) {
      const identity = localIdentity(user)
      return identity === undefined ? undefined : hitByKey(pairKey(business, identity))
    },
    async check(business, user, options) {
      const identity = localIdentity(user) ?? (await identities?.phoneOf(user).catch(() => undefined)) ?? user
      const key = pairKey(business, identity)
      const fresh = options?.fresh === true
      const hit = fresh ? undefined : cachedByKey(key)
      if (hit) return hit
      opts.businesses?.note(business)
      // Nobody to ask: what events said of the BSUID (also for a fresh check), or no.
      if (!opts.asksBsuid && isBsuid(identity)) return cachedByKey(key) ?? unresolved()
      return withStreak(key, await miss(key, business, identity, fresh, options?.priority ?? 'live'))
    },
  }
}

function fromUpstream(err: UpstreamError): GateError {
  const retryAfterSeconds = err.opts.retryAfterSeconds ?? RETRY_AFTER_SECONDS[err.kind]
  const reason = err.kind === 'auth_failed' ? 'upstream_auth_failed' : 'upstream_unavailable'
  return new GateError(reason, err.message, { retryAfterSeconds, cause: err })
}
