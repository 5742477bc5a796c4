// The consent-gate Grafana dashboard, built with Grafana's foundation SDK. `npm run observability` writes it to
// deploy/grafana/consent-gate.json (and the Kubernetes ConfigMap); a test fails when either file drifts from this.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { DATASOURCE } from './panels.js'
import { DECISION_ROWS } from './rows-decisions.js'
import { EVENT_ROWS } from './rows-events.js'
import { UPSTREAM_ROWS } from './rows-upstream.js'

export const DASHBOARD_UID = 'consent-gate'
/** Present on every gate from its start (a deferred counter such as decisions appears only after a check). */
const VARIABLE_SOURCE = 'consent_gate_cache_entries'

/** A multi-valued label variable with an All option, refreshed when the time range changes. */
function labelVariable(name: string, label: string, selector: string) {
  const query = `label_values(${selector}, ${name})`
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ qryType: 1, query, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' })
}

export function buildDashboard(): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder('consent-gate')
    .uid(DASHBOARD_UID)
    .description(
      'Decisions, cache, Kaleyra, events, shared tier and process of consent-gate sidecars. Alerts: ' +
        'deploy/prometheus/alerts.yml; runbook: docs/runbook.md.',
    )
    .tags(['consent-gate', 'whatsapp', 'kaleyra'])
    .timezone('browser')
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .editable()
    .withVariable(
      new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'),
    )
    .withVariable(labelVariable('job', 'Job', VARIABLE_SOURCE))
    .withVariable(labelVariable('instance', 'Gate', `${VARIABLE_SOURCE}{job=~"$job"}`))
  let id = 0
  for (const row of [...DECISION_ROWS, ...UPSTREAM_ROWS, ...EVENT_ROWS]) {
    builder.withRow(new dashboard.RowBuilder(row.title).id(++id))
    for (const panel of row.panels) builder.withPanel(panel.id(++id))
  }
  return builder.build()
}
