// The middle rows of the consent-gate dashboard: the cache and the gate's latency, then Kaleyra.
import {
  CHECK_ROUTES,
  FAILED_CLOSED,
  hitRatio,
  quantile,
  rate,
  sel,
  stateTimeline,
  timeSeries,
  type Row,
  GREEN,
  YELLOW,
  RED,
} from './panels.js'

const cache: Row = {
  title: 'Cache and latency',
  panels: [
    timeSeries({
      title: 'Cache hit ratio',
      description:
        '(hit + shared) / (hit + shared + miss + coalesced), per gate. ConsentGateCacheHitRatioCollapsed fires when it falls below half its last day.',
      unit: 'percentunit',
      max: 1,
      queries: [{ expr: hitRatio(' by (instance)'), legend: '{{instance}}' }],
    }),
    timeSeries({
      title: 'Cache lookups by result',
      description:
        'hit: answered in process; shared: answered from Redis; coalesced: joined a Kaleyra request already in flight; miss: asked Kaleyra.',
      unit: 'reqps',
      stack: true,
      queries: [
        { expr: `sum by (result) (${rate('consent_gate_cache_lookups_total')})`, legend: '{{result}}' },
      ],
    }),
    timeSeries({
      title: 'Cache entries',
      description: 'Decisions held in each gate, bounded by CACHE_MAX_ENTRIES.',
      unit: 'short',
      queries: [{ expr: `sum by (instance) (${sel('consent_gate_cache_entries')})`, legend: '{{instance}}' }],
    }),
    timeSeries({
      title: 'Check latency by route',
      description:
        'p50, p95 and p99 of GET /can-call and POST /can-call/batch as the gate served them (hits and misses together). ConsentGateCheckLatencyHigh fires at a /can-call p99 above 1 s.',
      unit: 's',
      width: 12,
      queries: [0.5, 0.95, 0.99].map((q) => ({
        expr: quantile(q, 'consent_gate_http_request_duration_seconds', CHECK_ROUTES, ['route']),
        legend: `p${q * 100} {{route}}`,
      })),
    }),
    timeSeries({
      title: 'p99 latency of the other routes',
      description:
        'p99 of webhooks, call outcomes and the admin route, by route template (probes and /metrics left out).',
      unit: 's',
      width: 12,
      queries: [
        {
          expr: quantile(
            0.99,
            'consent_gate_http_request_duration_seconds',
            'route!~"/can-call|/can-call/batch|/healthz|/readyz|/metrics"',
            ['route'],
          ),
          legend: '{{route}}',
        },
      ],
    }),
  ],
}

const upstream: Row = {
  title: 'Kaleyra',
  panels: [
    timeSeries({
      title: 'Kaleyra requests by outcome',
      description:
        'HTTP requests to Kaleyra (every page and retry counts): ok, auth_failed (RBC001 or 401), rate_limited (429), error (5xx, resets, unreadable bodies), timeout.',
      unit: 'reqps',
      stack: true,
      queries: [
        { expr: `sum by (outcome) (${rate('consent_gate_upstream_requests_total')})`, legend: '{{outcome}}' },
      ],
    }),
    timeSeries({
      title: 'Kaleyra error ratio by kind',
      description:
        'Failed requests of each kind over all requests. ConsentGateUpstreamErrorsHigh fires above 5 %; any auth_failed fires ConsentGateUpstreamAuthFailed.',
      unit: 'percentunit',
      stack: true,
      queries: [
        {
          expr: `sum by (outcome) (${rate('consent_gate_upstream_requests_total', 'outcome!="ok"')}) / ignoring (outcome) group_left () sum (${rate('consent_gate_upstream_requests_total')})`,
          legend: '{{outcome}}',
        },
      ],
    }),
    timeSeries({
      title: 'Kaleyra latency',
      description:
        'p50, p95 and p99 of Kaleyra requests, whatever their outcome (a timeout lasts UPSTREAM_TIMEOUT_MS).',
      unit: 's',
      queries: [0.5, 0.95, 0.99].map((q) => ({
        expr: quantile(q, 'consent_gate_upstream_request_duration_seconds'),
        legend: `p${q * 100}`,
      })),
    }),
    stateTimeline({
      title: 'Circuit breaker',
      description:
        "State of each gate's breaker in front of Kaleyra. Open: misses are answered 503 upstream_unavailable at once; half open: one probe is in flight.",
      unit: 'short',
      queries: [
        {
          expr: `max by (instance) (${sel('consent_gate_upstream_circuit_state', 'state="open"')}) * 2 + max by (instance) (${sel('consent_gate_upstream_circuit_state', 'state="half_open"')})`,
          legend: '{{instance}}',
        },
      ],
      states: {
        '0': { text: 'closed', color: GREEN },
        '1': { text: 'half open', color: YELLOW },
        '2': { text: 'open', color: RED },
      },
    }),
    timeSeries({
      title: 'Checks failed closed by reason',
      description:
        'upstream_unavailable also counts the budget: a miss beyond UPSTREAM_MAX_QUEUE, or whose deadline passed while it waited for UPSTREAM_MAX_INFLIGHT / UPSTREAM_MAX_RPS, is answered upstream_unavailable with no Kaleyra request failing (see the budget panels below).',
      unit: 'reqps',
      stack: true,
      queries: [
        {
          expr: `sum by (reason) (${rate('consent_gate_decisions_total', FAILED_CLOSED)})`,
          legend: '{{reason}}',
        },
      ],
    }),
    timeSeries({
      title: 'Upstream budget by class',
      description:
        'Kaleyra requests the budget started per class (live: GET /can-call and batches of up to 4 pairs; bulk: larger batches or priority=bulk), those turned away with a full class queue, and fleet-budget fallbacks (Redis could not answer: the gate used its own UPSTREAM_MAX_RPS for a second).',
      unit: 'reqps',
      queries: [
        {
          expr: `sum by (class) (${rate('consent_gate_upstream_budget_starts_total')})`,
          legend: 'started {{class}}',
        },
        {
          expr: `sum by (class) (${rate('consent_gate_upstream_budget_rejections_total')})`,
          legend: 'rejected {{class}}',
        },
        { expr: `sum (${rate('consent_gate_upstream_fleet_fallbacks_total')})`, legend: 'fleet fallbacks' },
      ],
    }),
    timeSeries({
      title: 'Budget wait by class',
      description:
        'p50 and p99 of the time a Kaleyra request waited for a slot and a token. Live work goes first: its wait stays near zero while a pre-check queues; bulk waits for what live leaves (UPSTREAM_BULK_SHARE).',
      unit: 's',
      queries: [0.5, 0.99].map((q) => ({
        expr: quantile(q, 'consent_gate_upstream_budget_wait_seconds', '', ['class']),
        legend: `p${q * 100} {{class}}`,
      })),
    }),
    timeSeries({
      title: 'Waiting for the budget by class',
      description:
        'Kaleyra requests waiting for the budget now, per class; each class queue holds UPSTREAM_MAX_QUEUE at most, so a full bulk queue never turns live checks away.',
      unit: 'short',
      queries: [
        {
          expr: `sum by (class) (${sel('consent_gate_upstream_budget_waiting')})`,
          legend: '{{class}}',
        },
      ],
    }),
    timeSeries({
      title: 'Kaleyra requests per miss',
      description:
        'Kaleyra requests per cache miss: below 1 when misses share a batched request, above 1 with paging or retries. The gate exports no batch-size or retry series, so this ratio stands in for both.',
      unit: 'short',
      queries: [
        {
          expr: `sum (${rate('consent_gate_upstream_requests_total')}) / sum (${rate('consent_gate_cache_lookups_total', 'result="miss"')})`,
          legend: 'requests per miss',
        },
      ],
    }),
    timeSeries({
      title: 'Meta phone numbers and discovery failures',
      description:
        "UPSTREAM=meta only: business numbers with a phone number id (META_PHONE_NUMBERS and those read under META_WABA_ID), and failed reads of the WABA's numbers (the gate keeps the last map it read). No numbers: every miss is answered 503 (ConsentGateMetaNumbersUnknown).",
      unit: 'short',
      width: 24,
      queries: [
        {
          expr: `max by (instance) (${sel('consent_gate_meta_phone_numbers')})`,
          legend: '{{instance}} numbers',
        },
        {
          expr: `sum by (instance) (increase(${sel('consent_gate_meta_discovery_failures_total')}[$__rate_interval]))`,
          legend: '{{instance}} discovery failures',
        },
      ],
    }),
  ],
}

export const UPSTREAM_ROWS: Row[] = [cache, upstream]
