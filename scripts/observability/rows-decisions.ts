// The top rows of the consent-gate dashboard: the overview a glance needs, then what dialers are told.
// Each query uses only series the gate exports (test/integration/observability-files.test.ts scrapes a real gate
// to check), plus Prometheus' `up`.
import {
  FAILED_CLOSED,
  allowedShare,
  hitRatio,
  rate,
  sel,
  statPanel,
  timeSeries,
  type Row,
  GREEN,
  YELLOW,
  RED,
} from './panels.js'

const overview: Row = {
  title: 'Overview',
  panels: [
    statPanel({
      title: 'Checks per second',
      description:
        'Answers of /can-call and of each item of /can-call/batch, errors included, by the picked gates.',
      unit: 'reqps',
      queries: [{ expr: `sum (${rate('consent_gate_decisions_total')})`, legend: 'checks' }],
      steps: [{ value: null, color: GREEN }],
    }),
    statPanel({
      title: 'Allowed',
      description:
        'Share of checks answered allowed: true (consent_granted). A drop with no change in traffic means consents were withdrawn, or the gate is failing closed.',
      unit: 'percentunit',
      queries: [{ expr: allowedShare, legend: 'allowed' }],
      steps: [{ value: null, color: 'blue' }],
    }),
    statPanel({
      title: 'Cache hit ratio',
      description: '(hit + shared) / every lookup: checks answered without waiting for Kaleyra.',
      unit: 'percentunit',
      queries: [{ expr: hitRatio(), legend: 'hit ratio' }],
      steps: [{ value: null, color: GREEN }],
    }),
    statPanel({
      title: 'Failing closed',
      description:
        'Share of checks answered 5xx (upstream_unavailable, upstream_auth_failed, overloaded, internal_error): the dialer was told no for a reason that is not the consent.',
      unit: 'percentunit',
      queries: [
        {
          expr: `sum (${rate('consent_gate_decisions_total', FAILED_CLOSED)}) / sum (${rate('consent_gate_decisions_total')})`,
          legend: 'failing closed',
        },
      ],
      steps: [
        { value: null, color: GREEN },
        { value: 0.001, color: YELLOW },
        { value: 0.01, color: RED },
      ],
    }),
    statPanel({
      title: 'Circuits not closed',
      description:
        'Gates whose Kaleyra circuit breaker is open or half open: their misses are answered 503 at once.',
      unit: 'short',
      queries: [
        {
          expr: `count (${sel('consent_gate_upstream_circuit_state', 'state="closed"')} == 0) or vector(0)`,
          legend: 'not closed',
        },
      ],
      steps: [
        { value: null, color: GREEN },
        { value: 1, color: RED },
      ],
    }),
    statPanel({
      title: 'Gates up',
      description: "Picked gates Prometheus scraped at its last try (Prometheus' own `up` series).",
      unit: 'short',
      queries: [{ expr: `sum (${sel('up')})`, legend: 'up' }],
      steps: [{ value: null, color: GREEN }],
    }),
  ],
}

const decisions: Row = {
  title: 'Decisions',
  panels: [
    timeSeries({
      title: 'Decisions by reason',
      description:
        'Every answer by reason: consent_* and no_consent come from the consent, unanswered_streak from reported calls, identity_unresolved from BSUIDs nobody can be asked about, the rest are errors (400s and fail-closed 5xx).',
      unit: 'reqps',
      stack: true,
      queries: [{ expr: `sum by (reason) (${rate('consent_gate_decisions_total')})`, legend: '{{reason}}' }],
    }),
    timeSeries({
      title: 'Decisions by source',
      description:
        'Where each answer came from: cache, upstream (Kaleyra), event (a webhook or call outcome), stale (past its TTL while Kaleyra could not answer), none (an error).',
      unit: 'reqps',
      stack: true,
      queries: [{ expr: `sum by (source) (${rate('consent_gate_decisions_total')})`, legend: '{{source}}' }],
    }),
    timeSeries({
      title: 'Allowed share',
      description: 'Share of checks answered allowed: true, over time.',
      unit: 'percentunit',
      max: 1,
      queries: [{ expr: allowedShare, legend: 'allowed' }],
    }),
  ],
}

export const DECISION_ROWS: Row[] = [overview, decisions]
