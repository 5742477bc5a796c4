import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { deferredCounter, deferredHistogram } from './metrics-deferred.js'

const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]

/** How one upstream HTTP request ended; the label of consent_gate_upstream_requests_total. */
export type UpstreamOutcome = 'ok' | 'auth_failed' | 'rate_limited' | 'error' | 'timeout'
export type CacheResult = 'hit' | 'miss' | 'coalesced' | 'shared'
/** The upstream budget's classes of work: live checks first, bulk (pre-checks) with what they leave. */
export type BudgetClass = 'live' | 'bulk'
const BUDGET_CLASSES = ['live', 'bulk'] as const

export interface GateMetrics {
  readonly registry: Registry
  readonly upstreamRequests: Counter<'outcome'>
  readonly upstreamDuration: Histogram
  readonly events: Counter<'kind' | 'result'>
  readonly evictions: Counter<'cause'>
  readonly redisUp: Gauge
  /** Registered only with UPSTREAM=meta and META_WABA_ID. */
  readonly metaDiscoveryFailures: Counter
  /** Registered only with UPSTREAM=meta: business numbers with a phone number id. */
  readonly metaPhoneNumbers: Gauge
  readonly redisErrors: Counter<'op'>
  readonly redisLostWrites: Counter<'op'>
  readonly forgottenFacts: Counter
  readonly forgottenStreaks: Counter<'state'>
  readonly budgetStarts: Counter<'class'>
  readonly budgetWait: Histogram<'class'>
  readonly budgetRejections: Counter<'class'>
  readonly fleetFallbacks: Counter
  /** Where consent_gate_upstream_budget_waiting reads each class's waiting requests at scrape time. */
  setBudgetWaitingSource(waiting: (c: BudgetClass) => number): void
  /** Times one served request (deferred to the scrape: metrics-deferred.ts). */
  observeRequest(route: string, statusCode: number, seconds: number): void
  /** Counts one answer of /can-call (deferred to the scrape: metrics-deferred.ts). */
  countDecision(reason: string, source: string): void
  /** Counts one cache lookup of a check, the same way. */
  countCacheLookup(result: CacheResult): void
  /** Where consent_gate_cache_entries reads its value at scrape time. */
  setCacheSizeSource(size: () => number): void
  /** UPSTREAM=meta: how many business numbers have a phone number id, read at scrape. */
  setMetaPhoneNumbersSource(size: () => number): void
  /** consent_gate_upstream_circuit_state: 1 for the current state, 0 for the others. */
  setCircuitState(state: CircuitState): void
}

/** The breaker's states, as the gauge labels them. */
const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const
type CircuitState = (typeof CIRCUIT_STATES)[number]

/**
 * One registry per app, so tests can build many apps in one process. Labels never carry a phone number,
 * key or token: only reason codes, outcomes and route templates.
 */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}): GateMetrics {
  const registry = new Registry()
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry })
    // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool rejects
    // them); the per-type gauges nodejs_active_handles/_requests/_resources carry the same numbers.
    for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name)
  }
  const registers = [registry]
  let cacheSize = () => 0
  let metaPhoneNumbers = () => 0
  let budgetWaiting = (_c: BudgetClass) => 0
  new Gauge({
    name: 'consent_gate_upstream_budget_waiting',
    help: 'Upstream requests waiting for the budget (an in-flight slot or a rate token), by class (live, bulk).',
    labelNames: ['class'],
    registers,
    collect() {
      for (const c of BUDGET_CLASSES) this.set({ class: c }, budgetWaiting(c))
    },
  })
  new Gauge({
    name: 'consent_gate_cache_entries',
    help: 'Decisions held in the in-process cache.',
    registers,
    collect() {
      this.set(cacheSize())
    },
  })
  const circuit = new Gauge({
    name: 'consent_gate_upstream_circuit_state',
    help: 'State of the circuit breaker in front of the upstream (Kaleyra or Meta): 1 for the current state (closed, open, half_open).',
    labelNames: ['state'],
    registers,
  })
  const setCircuitState = (state: CircuitState) => {
    for (const s of CIRCUIT_STATES) circuit.set({ state: s }, s === state ? 1 : 0)
  }
  setCircuitState('closed')
  const decisions = deferredCounter({
    name: 'consent_gate_decisions_total',
    help: 'Answers of /can-call by reason and source (cache, upstream, event, stale; none for errors), 4xx and 5xx included.',
    labelNames: ['reason', 'source'] as const,
    registers,
  })
  const cacheLookups = deferredCounter({
    name: 'consent_gate_cache_lookups_total',
    help: 'Cache lookups: hit, miss (asked the upstream), coalesced (joined a request already in flight) or shared (answered from Redis).',
    labelNames: ['result'] as const,
    registers,
  })
  const httpDuration = deferredHistogram({
    name: 'consent_gate_http_request_duration_seconds',
    help: 'Duration of requests served by the gate, by route template and status code.',
    labelNames: ['route', 'status_code'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  })
  const metrics: GateMetrics = {
    observeRequest: (route, statusCode, seconds) => httpDuration.observe(route, statusCode, seconds),
    countDecision: (reason, source) => decisions.inc(reason, source),
    countCacheLookup: (result) => cacheLookups.inc(result),
    setMetaPhoneNumbersSource: (size) => {
      metaPhoneNumbers = size
    },
    setCacheSizeSource: (size) => {
      cacheSize = size
    },
    setBudgetWaitingSource: (waiting) => {
      budgetWaiting = waiting
    },
    budgetStarts: new Counter({
      name: 'consent_gate_upstream_budget_starts_total',
      help: 'Upstream requests the budget let start, by class (live, bulk); retries and pages count.',
      labelNames: ['class'],
      registers,
    }),
    budgetWait: new Histogram({
      name: 'consent_gate_upstream_budget_wait_seconds',
      help: 'Time an upstream request waited for the budget before it started, by class (live, bulk).',
      labelNames: ['class'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    budgetRejections: new Counter({
      name: 'consent_gate_upstream_budget_rejections_total',
      help: 'Upstream requests turned away at once because their class queue (UPSTREAM_MAX_QUEUE) was full, by class.',
      labelNames: ['class'],
      registers,
    }),
    fleetFallbacks: new Counter({
      name: 'consent_gate_upstream_fleet_fallbacks_total',
      help: 'Times the fleet budget (UPSTREAM_FLEET_MAX_RPS on Redis) could not answer and the gate used its own UPSTREAM_MAX_RPS for a second.',
      registers,
    }),
    setCircuitState,
    registry,
    upstreamRequests: new Counter({
      name: 'consent_gate_upstream_requests_total',
      help: 'HTTP requests to the upstream (Kaleyra or Meta) by outcome.',
      labelNames: ['outcome'],
      registers,
    }),
    upstreamDuration: new Histogram({
      name: 'consent_gate_upstream_request_duration_seconds',
      help: 'Duration of HTTP requests to the upstream (Kaleyra or Meta), whatever their outcome.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    events: new Counter({
      name: 'consent_gate_events_total',
      help:
        'Pushed events by kind (kaleyra_webhook, meta_webhook, call_outcome) and result ' +
        '(applied, duplicate, outdated, untrusted, ignored, unauthorized, invalid, identity_changed).',
      labelNames: ['kind', 'result'],
      registers,
    }),
    evictions: new Counter({
      name: 'consent_gate_cache_evictions_total',
      help: 'Decisions dropped before their TTL, by cause (admin, error_code_138006, capacity, identity_changed, identity_linked).',
      labelNames: ['cause'],
      registers,
    }),
    metaDiscoveryFailures: new Counter({
      name: 'consent_gate_meta_discovery_failures_total',
      help: "Reads of META_WABA_ID's phone numbers that failed; the gate keeps the last map it read.",
      registers: [],
    }),
    metaPhoneNumbers: new Gauge({
      name: 'consent_gate_meta_phone_numbers',
      help: 'Business numbers the gate can ask Meta about (META_PHONE_NUMBERS and those discovered).',
      registers: [],
      collect() {
        this.set(metaPhoneNumbers())
      },
    }),
    redisUp: new Gauge({
      name: 'consent_gate_redis_up',
      help: 'Shared tier: 1 connected, 0 unavailable (the gate answers from this process and the upstream), absent when off.',
      registers: [],
    }),
    redisLostWrites: new Counter({
      name: 'consent_gate_redis_lost_writes_total',
      help: 'Event writes and bus messages that still failed after their retries: other gates may not know the fact.',
      labelNames: ['op'],
      registers,
    }),
    forgottenFacts: new Counter({
      name: 'consent_gate_fact_evictions_total',
      help: 'Pairs the fact memory dropped at its bound: an old accept for such a pair grants only within EVENT_TRUST_WINDOW_SECONDS.',
      registers,
    }),
    forgottenStreaks: new Counter({
      name: 'consent_gate_streak_evictions_total',
      help: 'Pairs the streak memory dropped at its bound, by state (counting, blocked): a dropped blocked pair is unblocked.',
      labelNames: ['state'],
      registers,
    }),
    redisErrors: new Counter({
      name: 'consent_gate_redis_errors_total',
      help: 'Redis operations that failed or timed out, by operation; each fell back to in-process state.',
      labelNames: ['op'],
      registers,
    }),
  }
  zeroKnownSeries(metrics)
  return metrics
}

/**
 * Counters with labels appear on their first increment, so rate() and increase() never see that one: the events an
 * alert watches for (a refused webhook, an auth failure, a lost write, a dropped block) start at 0 instead.
 */
function zeroKnownSeries(m: GateMetrics): void {
  for (const outcome of ['ok', 'auth_failed', 'rate_limited', 'error', 'timeout'] as const)
    m.upstreamRequests.inc({ outcome }, 0)
  for (const kind of ['kaleyra_webhook', 'meta_webhook'])
    for (const result of [
      'applied',
      'duplicate',
      'outdated',
      'untrusted',
      'ignored',
      'unauthorized',
      'invalid',
      'identity_changed',
    ])
      m.events.inc({ kind, result }, 0)
  m.events.inc({ kind: 'call_outcome', result: 'applied' }, 0)
  for (const cause of ['admin', 'error_code_138006', 'capacity', 'identity_changed', 'identity_linked'])
    m.evictions.inc({ cause }, 0)
  for (const op of ['write', 'evict', 'publish']) m.redisLostWrites.inc({ op }, 0)
  for (const state of ['counting', 'blocked']) m.forgottenStreaks.inc({ state }, 0)
  for (const c of BUDGET_CLASSES) {
    m.budgetStarts.inc({ class: c }, 0)
    m.budgetRejections.inc({ class: c }, 0)
    m.budgetWait.zero({ class: c })
  }
}
