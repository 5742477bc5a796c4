// The few panel shapes the consent-gate dashboard uses, on Grafana's foundation SDK: every panel and query reads
// the `datasource` variable, and every selector is narrowed to the sidecars picked by `job` and `instance`.
import * as common from '@grafana/grafana-foundation-sdk/common'
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus'
import * as stat from '@grafana/grafana-foundation-sdk/stat'
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline'
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries'

/** Threshold colours every row uses. */
export const GREEN = 'green'
export const YELLOW = 'yellow'
export const RED = 'red'

export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' }

/** `name{job=~"$job", instance=~"$instance", ...matchers}`: a selector on the sidecars the variables pick. */
export const sel = (name: string, matchers = '') =>
  `${name}{job=~"$job", instance=~"$instance"${matchers ? `, ${matchers}` : ''}}`

/** `rate(<selector>[$__rate_interval])`: Grafana's rate window, at least four scrape intervals. */
export const rate = (name: string, matchers = '') => `rate(${sel(name, matchers)}[$__rate_interval])`

/** The `q`-quantile of a histogram, aggregated over the picked sidecars and kept apart by `by`. */
export const quantile = (q: number, name: string, matchers = '', by: string[] = []) =>
  `histogram_quantile(${q}, sum by (${[...by, 'le'].join(', ')}) (${rate(`${name}_bucket`, matchers)}))`

/** Query fragments more than one row uses. */
export const CHECK_ROUTES = 'route=~"/can-call|/can-call/batch"'
export const FAILED_CLOSED = 'reason=~"upstream_unavailable|upstream_auth_failed|overloaded|internal_error"'
export const hitRatio = (by = '') =>
  `sum${by} (${rate('consent_gate_cache_lookups_total', 'result=~"hit|shared"')}) / sum${by} (${rate('consent_gate_cache_lookups_total')})`
export const allowedShare = `sum (${rate('consent_gate_decisions_total', 'reason="consent_granted"')}) / sum (${rate('consent_gate_decisions_total')})`

export interface Query {
  expr: string
  /** Grafana's legend template, such as `{{reason}}`; a label it names must be on the query's series. */
  legend: string
}

export interface PanelSpec {
  title: string
  /** What the panel shows and how to read it: Grafana shows it as the panel's (i) tooltip. */
  description: string
  queries: Query[]
  /** Grafana unit id: `reqps`, `s`, `bytes`, `percentunit`, `short`, ... */
  unit: string
  /** Grid width out of 24 (default 8: three panels a line) and height in grid rows (default 8). */
  width?: number
  height?: number
}

export type AnyPanel = timeseries.PanelBuilder | stat.PanelBuilder | statetimeline.PanelBuilder

/** A row of the dashboard and the panels under it, left to right, top to bottom. */
export interface Row {
  title: string
  panels: AnyPanel[]
}

function withBasics<P extends AnyPanel>(panel: P, spec: PanelSpec): P {
  const refIds = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
  const targets = spec.queries.map((q, i) =>
    new DataqueryBuilder()
      .datasource(DATASOURCE)
      .refId(refIds[i] ?? `Q${i}`)
      .expr(q.expr)
      .legendFormat(q.legend)
      .range(),
  )
  panel
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .gridPos({ x: 0, y: 0, w: spec.width ?? 8, h: spec.height ?? 8 })
    .targets(targets)
  return panel
}

const legend = () =>
  new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom)

const tooltip = () =>
  new common.VizTooltipOptionsBuilder()
    .mode(common.TooltipDisplayMode.Multi)
    .sort(common.SortOrder.Descending)

/** Lines over time; `stack` piles series up (parts of one whole, such as decisions by reason). */
export function timeSeries(spec: PanelSpec & { stack?: boolean; min?: number; max?: number }) {
  const panel = withBasics(new timeseries.PanelBuilder(), spec)
    .legend(legend())
    .tooltip(tooltip())
    .fillOpacity(spec.stack ? 30 : 10)
    .min(spec.min ?? 0)
  if (spec.max !== undefined) panel.max(spec.max)
  if (spec.stack) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
  return panel
}

export type Step = { value: number | null; color: string }

/** One big number (the last value) with a sparkline, coloured by `steps` (the first step's value is null). */
export function statPanel(spec: PanelSpec & { steps: Step[] }) {
  return withBasics(new stat.PanelBuilder(), { width: 4, height: 4, ...spec })
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(
      new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(spec.steps),
    )
}

/** One band per series (per sidecar), each value shown as a named state of its own colour. */
export function stateTimeline(spec: PanelSpec & { states: Record<string, { text: string; color: string }> }) {
  return withBasics(new statetimeline.PanelBuilder(), spec)
    .legend(legend())
    .mappings([{ type: dashboard.MappingType.ValueToText, options: spec.states }])
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.Thresholds))
    .fillOpacity(80)
}
