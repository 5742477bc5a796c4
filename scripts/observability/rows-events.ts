// The lower rows of the consent-gate dashboard: pushed events and streaks, the shared tier, the process.
import { rate, sel, stateTimeline, timeSeries, type Row } from './panels.js'

const events: Row = {
  title: 'Events and streaks',
  panels: [
    timeSeries({
      title: 'Events applied by kind',
      description:
        'Permission replies (kaleyra_webhook, meta_webhook) and call outcomes that changed what the gate knows.',
      unit: 'reqps',
      stack: true,
      queries: [
        {
          expr: `sum by (kind) (${rate('consent_gate_events_total', 'result="applied"')})`,
          legend: '{{kind}}',
        },
      ],
    }),
    timeSeries({
      title: 'Events not applied, by kind and result',
      description:
        'duplicate (seen before), outdated (older than what the gate holds), untrusted (an old accept the gate could not order), ignored (not a permission reply), unauthorized (bad signature, token or Basic auth: ConsentGateWebhookAuthFailures), invalid (unreadable body), identity_changed (a number-change system message: the old identities were forgotten).',
      unit: 'reqps',
      stack: true,
      queries: [
        {
          expr: `sum by (kind, result) (${rate('consent_gate_events_total', 'result!="applied"')})`,
          legend: '{{kind}} {{result}}',
        },
      ],
    }),
    timeSeries({
      title: 'Unanswered-streak denials',
      description:
        'Checks answered unanswered_streak: pairs at UNANSWERED_STREAK_LIMIT unanswered or rejected calls in a row, stopped before Meta revokes their permission.',
      unit: 'reqps',
      queries: [
        {
          expr: `sum (${rate('consent_gate_decisions_total', 'reason="unanswered_streak"')})`,
          legend: 'unanswered_streak',
        },
      ],
    }),
    timeSeries({
      title: 'Unresolved-identity denials',
      description:
        'Checks answered identity_unresolved: BSUIDs Kaleyra cannot be asked about, with no linked number and no event. A steady rate means permission-reply webhooks do not reach the gate, or those users need UPSTREAM=meta (docs/identities.md).',
      unit: 'reqps',
      queries: [
        {
          expr: `sum (${rate('consent_gate_decisions_total', 'reason="identity_unresolved"')})`,
          legend: 'identity_unresolved',
        },
      ],
    }),
    timeSeries({
      title: 'Evictions by cause',
      description:
        'Cache: decisions dropped before their TTL (admin, error_code_138006, capacity, identity_changed, identity_linked). Fact memory and streak memory: pairs dropped at their bound; a dropped blocked streak unblocks its pair (ConsentGateStreakBlocksEvicted).',
      unit: 'reqps',
      width: 16,
      queries: [
        {
          expr: `sum by (cause) (${rate('consent_gate_cache_evictions_total')})`,
          legend: 'cache {{cause}}',
        },
        { expr: `sum (${rate('consent_gate_fact_evictions_total')})`, legend: 'fact memory' },
        {
          expr: `sum by (state) (${rate('consent_gate_streak_evictions_total')})`,
          legend: 'streak memory {{state}}',
        },
      ],
    }),
  ],
}

const shared: Row = {
  title: 'Shared tier (Redis)',
  panels: [
    stateTimeline({
      title: 'Shared tier',
      description:
        'Per gate with REDIS_URL: connected, or degraded (no heartbeat through Redis for 3 s: the gate answers alone and caches allows 1 s at most). Empty when no gate uses Redis.',
      unit: 'short',
      queries: [{ expr: `max by (instance) (${sel('consent_gate_redis_up')})`, legend: '{{instance}}' }],
      states: {
        '0': { text: 'degraded', color: 'red' },
        '1': { text: 'connected', color: 'green' },
      },
    }),
    timeSeries({
      title: 'Redis errors and lost writes by operation',
      description:
        'Errors: Redis operations that failed or timed out and fell back to in-process state. Lost: event writes and bus messages that still failed after their retries (ConsentGateSharedTierLostWrites).',
      unit: 'reqps',
      queries: [
        { expr: `sum by (op) (${rate('consent_gate_redis_errors_total')})`, legend: 'error {{op}}' },
        { expr: `sum by (op) (${rate('consent_gate_redis_lost_writes_total')})`, legend: 'lost {{op}}' },
      ],
    }),
    timeSeries({
      title: 'Fleet coalescing',
      description:
        'Lookups another request saved: shared (answered from Redis, often what another gate fetched while this one waited on its lock), coalesced (joined a request in flight in this gate), against the misses that asked Kaleyra.',
      unit: 'reqps',
      queries: [
        {
          expr: `sum by (result) (${rate('consent_gate_cache_lookups_total', 'result=~"shared|coalesced|miss"')})`,
          legend: '{{result}}',
        },
      ],
    }),
  ],
}

const process: Row = {
  title: 'Process',
  panels: [
    timeSeries({
      title: 'CPU',
      description: 'CPU time per second of each gate process (1 = one core).',
      unit: 'percentunit',
      width: 6,
      queries: [{ expr: `sum by (instance) (${rate('process_cpu_seconds_total')})`, legend: '{{instance}}' }],
    }),
    timeSeries({
      title: 'Memory',
      description:
        'Resident memory and V8 heap in use of each gate (SHED_MAX_HEAP_USED_BYTES compares the heap).',
      unit: 'bytes',
      width: 6,
      queries: [
        { expr: `sum by (instance) (${sel('process_resident_memory_bytes')})`, legend: 'rss {{instance}}' },
        { expr: `sum by (instance) (${sel('nodejs_heap_size_used_bytes')})`, legend: 'heap {{instance}}' },
      ],
    }),
    timeSeries({
      title: 'Event-loop delay',
      description:
        'Mean and p99 event-loop delay of each gate, as prom-client samples it. Checks are shed while the delay stays above SHED_MAX_EVENT_LOOP_DELAY_MS (200 ms by default).',
      unit: 's',
      width: 6,
      queries: [
        {
          expr: `max by (instance) (${sel('nodejs_eventloop_lag_mean_seconds')})`,
          legend: 'mean {{instance}}',
        },
        {
          expr: `max by (instance) (${sel('nodejs_eventloop_lag_p99_seconds')})`,
          legend: 'p99 {{instance}}',
        },
      ],
    }),
    timeSeries({
      title: 'Shed checks',
      description:
        'Checks answered 503 overloaded at once because the event loop or heap was past a SHED_MAX_* threshold (ConsentGateChecksShed).',
      unit: 'reqps',
      width: 6,
      queries: [
        {
          expr: `sum by (instance) (${rate('consent_gate_decisions_total', 'reason="overloaded"')})`,
          legend: '{{instance}}',
        },
      ],
    }),
  ],
}

export const EVENT_ROWS: Row[] = [events, shared, process]
