import type { Logger } from 'pino'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import { createDecisionCache, type DecisionCache } from './consent/cache.js'
import { createPairBatcher } from './consent/batcher.js'
import { createConsentLookup, type ConsentLookup } from './consent/lookup.js'
import { createCircuitBreaker, type CircuitBreaker } from './kaleyra/breaker.js'
import { createUpstreamBudget } from './kaleyra/budget.js'
import { createKaleyraClient, type KaleyraClient } from './kaleyra/client.js'
import { createUpstreamGuard } from './kaleyra/guard.js'
import type { GateMetrics } from './metrics.js'
import { createConsentEvents, type ConsentEvents } from './consent/events.js'
import { createUnansweredStreaks, type UnansweredStreaks } from './consent/streaks.js'

/** The domain, wired: route -> lookup -> cache -> (miss) batcher -> guard -> Kaleyra client -> decision. */
export interface Gate {
  cache: DecisionCache
  lookup: ConsentLookup
  events: ConsentEvents
  streaks: UnansweredStreaks
  breaker: CircuitBreaker
  client: KaleyraClient
}

export function createGate(
  config: Config,
  deps: { clock: Clock; logger: Logger; metrics: GateMetrics },
): Gate {
  const { clock, logger, metrics } = deps
  const { upstream } = config
  const cache = createDecisionCache({
    ...config.cache,
    clock,
    onCapacityEviction: () => metrics.evictions.inc({ cause: 'capacity' }),
  })
  const streaks = createUnansweredStreaks({
    limit: config.unansweredStreakLimit,
    maxEntries: config.cache.maxEntries,
    clock,
  })
  const events = createConsentEvents({
    cache,
    streaks,
    clock,
    maxEntries: config.cache.maxEntries,
    onEvict: (cause) => metrics.evictions.inc({ cause }),
  })
  metrics.setCacheSizeSource(() => cache.size)
  const breaker = createCircuitBreaker({
    ...upstream.breaker,
    clock,
    onStateChange: (state) => {
      metrics.setCircuitState(state)
      logger.warn({ module: 'breaker', state }, 'upstream circuit changed state')
    },
  })
  const guard = createUpstreamGuard({
    retries: upstream.retries,
    breaker,
    budget: createUpstreamBudget(upstream),
  })
  const client = createKaleyraClient({
    ...config.kaleyra,
    timeoutMs: upstream.timeoutMs,
    deadlineMs: upstream.deadlineMs,
    connections: upstream.maxInflight,
    guard,
    clock,
    logger,
    observe: (outcome, seconds) => {
      metrics.upstreamRequests.inc({ outcome })
      metrics.upstreamDuration.observe(seconds)
    },
  })
  const batcher = createPairBatcher({ client, ...config.batch })
  const lookup = createConsentLookup({
    cache,
    find: batcher.find,
    clock,
    logger,
    observe: (result) => metrics.cacheLookups.inc({ result }),
    streakBlocked: (key) => streaks.blocked(key),
    lastEventAt: (key) => events.lastWriteAt(key),
  })
  return { cache, lookup, events, streaks, breaker, client }
}
