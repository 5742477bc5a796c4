import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import type { Config } from '../config/load.js'
import { createDecisionCache, type DecisionCache } from '../consent/cache.js'
import { createPairBatcher } from '../consent/batcher.js'
import { createConsentLookup, type ConsentLookup } from '../consent/lookup.js'
import { createCircuitBreaker, type CircuitBreaker } from '../upstream/breaker.js'
import { createUpstreamBudget, type FleetRate } from '../upstream/budget.js'
import { createKaleyraClient } from '../upstream/kaleyra/client.js'
import { createMetaClient, type MetaClient, type MetaClientOptions } from '../upstream/meta/client.js'
import { createPhoneNumbers } from '../upstream/meta/phone-numbers.js'
import { aboutOneRequest } from '../upstream/meta/wire.js'
import type { Priority } from '../upstream/port.js'
import type { UpstreamOutcome } from '../observability/metrics.js'
import { createIdentityLinks, type IdentityLinks } from '../consent/identities.js'
import { createKnownBusinesses } from '../consent/businesses.js'
import { createUpstreamGuard } from '../upstream/guard.js'
import { isPerBusinessFailure } from '../upstream/errors.js'
import type { GateMetrics } from '../observability/metrics.js'
import { createConsentEvents, type ConsentEvents } from '../consent/events/events.js'
import { createPairFacts } from '../consent/facts.js'
import { EVENT_MEMORY_MS } from '../consent/events/memory.js'
import { createUnansweredStreaks, type UnansweredStreaks } from '../consent/streaks.js'
import type { SharedTier } from '../shared/port.js'

/**
 * REDIS_URL set: one Redis tier for the fleet, its health in a gauge and its failures in a counter. Imported only
 * then: ioredis is a tenth of the gate's start-up, paid by every sidecar that runs without Redis otherwise.
 */
async function createSharedTier(
  config: Config,
  deps: { clock: Clock; logger: Logger; metrics: GateMetrics },
  onHealth: (up: boolean) => void,
): Promise<SharedTier | undefined> {
  if (!config.redis) return undefined
  const { metrics } = deps
  const { createSharedTier: connectRedis } = await import('../shared/redis-tier.js')
  metrics.registry.registerMetric(metrics.redisUp)
  metrics.redisUp.set(0)
  return connectRedis({
    ...config.redis,
    ...deps,
    lockMs: config.upstream.deadlineMs,
    trustWindowMs: config.eventTrustWindowMs,
    memoryMs: EVENT_MEMORY_MS,
    onError: (op) => metrics.redisErrors.inc({ op }),
    onLostWrite: (op) => metrics.redisLostWrites.inc({ op }),
    onHealth: (up) => {
      metrics.redisUp.set(up ? 1 : 0)
      onHealth(up)
    },
  })
}

/**
 * UPSTREAM_FLEET_MAX_RPS with REDIS_URL: one rate for every gate on that Redis (src/shared/fleet-budget.ts), on a
 * connection of its own. Imported only then, like the shared tier.
 */
async function createFleetRate(config: Config): Promise<(FleetRate & { close(): void }) | undefined> {
  const { redis, upstream } = config
  if (!redis || upstream.fleetMaxRps <= 0) return undefined
  const { createFleetBudget } = await import('../shared/fleet-budget.js')
  return createFleetBudget({
    url: redis.url,
    prefix: redis.prefix,
    maxRps: upstream.fleetMaxRps,
    bulkShare: upstream.bulkShare,
    // REDIS_TIMEOUT_MS, as for every Redis command: a slow Redis costs a start at most this much, then the gate
    // uses its own rate for a second before asking again.
    timeoutMs: redis.timeoutMs,
  })
}

/** The domain, wired: route -> lookup -> cache -> (miss) batcher -> guard -> Kaleyra client -> decision. */
export interface Gate {
  cache: DecisionCache
  lookup: ConsentLookup
  events: ConsentEvents
  streaks: UnansweredStreaks
  breaker: CircuitBreaker
  /** The Redis tier when REDIS_URL is set. */
  shared?: SharedTier
  identities: IdentityLinks
  /** Who is asked on a miss (UPSTREAM). */
  upstream: 'kaleyra' | 'meta'
  /** Why a business cannot be asked at all (Meta: no phone number id), for a 400; undefined when it can. */
  refuses?: (business: string) => string | undefined
  close(): Promise<void>
}

export async function createGate(
  config: Config,
  deps: { clock: Clock; logger: Logger; metrics: GateMetrics },
): Promise<Gate> {
  const { clock, logger, metrics } = deps
  const { upstream } = config
  const cache = createDecisionCache({
    ...config.cache,
    clock,
    onCapacityEviction: () => metrics.evictions.inc({ cause: 'capacity' }),
  })
  const sharedLossCapMs = 1000
  // Shared mode starts degraded, until this gate hears its own heartbeat through the channel.
  if (config.redis) cache.limitAllows(sharedLossCapMs)
  const shared = await createSharedTier(config, deps, (up) => {
    // Down: an event another gate receives may not reach this one, so allows are trusted a second at most.
    // Up again: events published meanwhile never arrived; forget the allows they could have revoked (denies
    // stay: Redis may never have received them).
    if (up) cache.dropAllows()
    cache.limitAllows(up ? undefined : sharedLossCapMs)
  })
  const facts = createPairFacts({
    clock,
    maxEntries: config.cache.maxEntries,
    trustWindowMs: config.eventTrustWindowMs,
    negativeTtlMs: config.cache.negativeTtlMs,
    onForget: () => metrics.forgottenFacts.inc(),
  })
  const streaks = createUnansweredStreaks({
    limit: config.unansweredStreakLimit,
    maxEntries: config.cache.maxEntries,
    clock,
    onForget: (state) => metrics.forgottenStreaks.inc({ state }),
  })
  const identities = createIdentityLinks({
    maxEntries: config.cache.maxEntries,
    clock,
    shared,
    onForget: (bsuid) => events.forgotLink(bsuid),
  })
  const businesses = createKnownBusinesses()
  const events = createConsentEvents({
    identities,
    businesses,
    cache,
    facts,
    streaks,
    clock,
    maxEntries: config.cache.maxEntries,
    onEvict: (cause) => metrics.evictions.inc({ cause }),
    shared,
  })
  shared?.onMessage((message) => events.applyRemote(message))
  metrics.setCacheSizeSource(() => cache.size)
  const breaker = createCircuitBreaker({
    ...upstream.breaker,
    clock,
    onStateChange: (state) => {
      metrics.setCircuitState(state)
      logger.warn({ module: 'breaker', state }, 'upstream circuit changed state')
    },
  })
  const fleet = await createFleetRate(config)
  const budget = createUpstreamBudget({
    ...upstream,
    fleet,
    // The budget bounds each fleet ask itself too (REDIS_TIMEOUT_MS): a stuck ask must not freeze the budget.
    fleetTimeoutMs: config.redis?.timeoutMs,
    observe: {
      started: (c, seconds) => {
        metrics.budgetStarts.inc({ class: c })
        metrics.budgetWait.observe({ class: c }, seconds)
      },
      rejected: (c) => metrics.budgetRejections.inc({ class: c }),
      fleetFallback: () => metrics.fleetFallbacks.inc(),
    },
  })
  metrics.setBudgetWaitingSource((c) => budget.waiting(c))
  const upstreamName = config.meta ? 'Meta' : 'Kaleyra'
  const guard = createUpstreamGuard({
    retries: upstream.retries,
    breaker,
    budget,
    upstreamName,
    ...(config.meta && { aboutOneRequest }),
  })
  const http = {
    timeoutMs: upstream.timeoutMs,
    deadlineMs: upstream.deadlineMs,
    connections: upstream.maxInflight,
    guard,
    clock,
    logger,
    observe: (outcome: UpstreamOutcome, seconds: number) => {
      metrics.upstreamRequests.inc({ outcome })
      metrics.upstreamDuration.observe(seconds)
    },
  }
  const { client, phoneNumbers } = config.meta
    ? await createMeta(config.meta, http, logger, metrics)
    : { client: createKaleyraClient({ ...config.kaleyra!, ...http }), phoneNumbers: undefined }
  // Kaleyra answers lists of users: misses are micro-batched. Meta answers one user per request: a miss asks alone
  // (coalescing, the budget, retries, breaker, deadline and stale-if-error still apply).
  const find = client.batches
    ? createPairBatcher({
        client,
        ...config.batch,
        // While the circuit is not closed Kaleyra itself is in doubt: asking again per business only adds load.
        isolateOn: (err) => isPerBusinessFailure(err) && breaker.state === 'closed',
      }).find
    : (business: string, user: string, priority: Priority) =>
        client.listPermissions([business], [user], { priority })
  const lookup = createConsentLookup({
    cache,
    find,
    identities,
    asksBsuid: client.asksBsuid,
    businesses,
    upstreamName,
    clock,
    logger,
    observe: (result) => metrics.countCacheLookup(result),
    streakBlocked: (key) => streaks.blocked(key),
    facts,
    events,
    shared,
    deadlineMs: upstream.deadlineMs,
  })
  const close = async () => {
    fleet?.close()
    phoneNumbers?.close()
    await Promise.all([client.close(), shared?.close()])
  }
  const refuses = client.refuses?.bind(client)
  return {
    cache,
    lookup,
    events,
    streaks,
    breaker,
    shared,
    identities,
    upstream: client.name,
    refuses,
    close,
  }
}

/**
 * UPSTREAM=meta: the Graph client, and the business numbers it can ask about: META_PHONE_NUMBERS, and with
 * META_WABA_ID the numbers discovered at start (bounded wait) and every META_DISCOVERY_INTERVAL_SECONDS.
 */
async function createMeta(
  meta: NonNullable<Config['meta']>,
  http: Omit<MetaClientOptions, 'version' | 'accessToken' | 'phoneNumbers' | 'baseUrl'>,
  logger: Logger,
  metrics: GateMetrics,
) {
  const { wabaId } = meta
  metrics.registry.registerMetric(metrics.metaPhoneNumbers)
  if (wabaId !== undefined) metrics.registry.registerMetric(metrics.metaDiscoveryFailures)
  // Discovery asks through the client, which asks by the numbers discovery finds: `client` is set before start().
  const phoneNumbers = createPhoneNumbers({
    fixed: meta.phoneNumbers,
    intervalMs: meta.discoveryIntervalMs,
    logger,
    clock: http.clock,
    onError: () => metrics.metaDiscoveryFailures.inc(),
    ...(wabaId !== undefined && { discover: () => client.discoverPhoneNumbers(wabaId) }),
  })
  metrics.setMetaPhoneNumbersSource(() => phoneNumbers.size)
  const client: MetaClient = createMetaClient({ ...http, ...meta, phoneNumbers })
  await phoneNumbers.start()
  return { client, phoneNumbers }
}
