// The dashboard and the alerts (issue 15) may only use series a real gate exports: gates are driven through every
// answer and scraped, and every PromQL expression of a panel, a variable or an alert is read against that scrape
// (names, label names, label values). The dashboard's shape and the alerts' annotations are pinned here too;
// `promtool test rules deploy/prometheus/alerts.test.yml` (in .ci/run) checks what the alerts compute.
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ERRORS } from '../../src/lib/errors.js'
import { DecisionReason } from '../../src/schemas/can-call.js'
import { read } from '../helpers/deploy-files.js'
import { REDIS_ONLY, exportedByGates, type Exported } from '../helpers/exercise-gate.js'
import {
  familyOf,
  legendLabels,
  readLabelValuesQuery,
  readPromql,
  type ExprUse,
  type Selector,
} from '../helpers/promql.js'

interface Target {
  refId: string
  expr: string
  legendFormat: string
  datasource: { type: string; uid: string }
}
interface Panel {
  id: number
  type: string
  title: string
  description?: string
  datasource?: { type: string; uid: string }
  gridPos: { x: number; y: number; w: number; h: number }
  targets?: Target[]
}
interface Rule {
  alert: string
  expr: string
  for?: string
  labels: Record<string, string>
  annotations: Record<string, string>
}

const dashboard = JSON.parse(read('deploy/grafana/consent-gate.json'))
const panels = (dashboard.panels as Panel[]).filter((p) => p.type !== 'row')
const variables = dashboard.templating.list as { type: string; name: string; query: any; datasource?: any }[]
const rules = (parse(read('deploy/prometheus/alerts.yml')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
)

/** Every expression of the dashboard and the alerts, with where it comes from. */
const uses: { where: string; use: ExprUse; legend?: string }[] = [
  ...panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      where: `panel "${p.title}"`,
      use: readPromql(t.expr),
      legend: t.legendFormat,
    })),
  ),
  ...variables
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `variable ${v.name}`, use: readLabelValuesQuery(v.query.query).use })),
  ...rules.map((r) => ({ where: `alert ${r.alert}`, use: readPromql(r.expr) })),
]

/** Series Prometheus writes itself for every target; labels it puts on every scraped series. */
const PROMETHEUS_SERIES = new Set(['up'])
const TARGET_LABELS = ['job', 'instance']
/** The reason catalogue: decisions and errors (some, such as internal_error, no healthy gate can be made to give). */
const REASONS = [...DecisionReason.enum, ...Object.keys(ERRORS)]

describe('the dashboard and alerts against a scrape of real gates', () => {
  let exported: Exported
  beforeAll(async () => {
    exported = await exportedByGates()
  }, 60_000)

  const isRedisOnly = (metric: string) => !exported.withRedis && REDIS_ONLY.families.includes(metric)
  const labelsOf = (s: Selector): string[] => {
    const family = familyOf(exported.exposition, s.metric) ?? s.metric
    const seen = [...(exported.exposition.labels.get(s.metric)?.keys() ?? [])]
    const le = s.metric.endsWith('_bucket') ? ['le'] : []
    return [...(exported.labelNames.get(family) ?? []), ...seen, ...le, ...TARGET_LABELS]
  }
  const valuesOf = (s: Selector, label: string): string[] => {
    const family = familyOf(exported.exposition, s.metric) ?? s.metric
    const names = [family, `${family}_bucket`, `${family}_count`, `${family}_sum`]
    const seen = names.flatMap((n) => [...(exported.exposition.labels.get(n)?.get(label) ?? [])])
    const catalogue = label === 'reason' ? REASONS : []
    const redisOnly = exported.withRedis ? [] : ((REDIS_ONLY.values as Record<string, string[]>)[label] ?? [])
    return [...seen, ...catalogue, ...redisOnly]
  }
  const gateSelectors = (use: ExprUse) =>
    use.selectors.filter((s) => !PROMETHEUS_SERIES.has(s.metric) && !isRedisOnly(s.metric))

  it('uses only metric families the gate exports (a histogram by its _bucket, _sum and _count)', () => {
    expect(uses.length).toBeGreaterThan(40)
    for (const { where, use } of uses) {
      expect(use.selectors.length, where).toBeGreaterThan(0)
      for (const s of gateSelectors(use))
        expect(familyOf(exported.exposition, s.metric), `${where}: ${s.metric}`).toBeDefined()
    }
  })

  it('filters and groups only by labels those series carry', () => {
    for (const { where, use } of uses) {
      const selectors = gateSelectors(use)
      for (const s of selectors)
        for (const m of s.matchers)
          expect(labelsOf(s), `${where}: ${s.metric}{${m.label}}`).toContain(m.label)
      const all = new Set([...selectors.flatMap(labelsOf), ...TARGET_LABELS])
      for (const label of use.grouping) expect([...all], `${where}: by/on (${label})`).toContain(label)
    }
  })

  it('matches only label values the gate gives (so a typo cannot silently match nothing)', () => {
    let checked = 0
    for (const { where, use } of uses)
      for (const s of gateSelectors(use))
        for (const m of s.matchers.filter((m) => !TARGET_LABELS.includes(m.label))) {
          // A plain value or an alternation of plain values; anything fancier would need a regex engine here.
          expect(m.value, `${where}: ${m.label}${m.op}"${m.value}"`).toMatch(/^[\w/.:+-]+(\|[\w/.:+-]+)*$/)
          for (const value of m.value.split('|')) {
            expect(valuesOf(s, m.label), `${where}: ${s.metric}{${m.label}="${value}"}`).toContain(value)
            checked++
          }
        }
    expect(checked).toBeGreaterThan(20)
  })

  it('names in each legend only labels its query keeps', () => {
    for (const { where, use, legend } of uses) {
      if (!legend) continue
      const kept = use.aggregates ? use.grouping : gateSelectors(use).flatMap(labelsOf)
      for (const label of legendLabels(legend)) expect(kept, `${where}: {{${label}}}`).toContain(label)
    }
  })

  it('charts every consent_gate_* family the gate exports', () => {
    const charted = new Set(
      uses
        .filter((u) => u.where.startsWith('panel'))
        .flatMap((u) => u.use.selectors.map((s) => familyOf(exported.exposition, s.metric) ?? s.metric)),
    )
    const families = [...exported.exposition.types.keys()].filter((f) => f.startsWith('consent_gate_'))
    expect(families.length).toBeGreaterThan(10)
    for (const family of [...families, ...REDIS_ONLY.families]) expect([...charted], family).toContain(family)
  })

  it.runIf(process.env.REDIS_URL)('finds what REDIS_ONLY takes on trust in a gate with REDIS_URL', () => {
    expect(exported.withRedis).toBe(true)
    for (const family of REDIS_ONLY.families) expect([...exported.exposition.types.keys()]).toContain(family)
    const results = exported.exposition.labels.get('consent_gate_cache_lookups_total')?.get('result')
    for (const value of REDIS_ONLY.values.result) expect([...(results ?? [])]).toContain(value)
  })
})

describe('deploy/grafana/consent-gate.json', () => {
  it('has a current schema, a stable uid and a title', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(41)
    expect(dashboard.uid).toBe('consent-gate')
    expect(dashboard.title).toBe('consent-gate')
  })

  it('picks a Prometheus data source, then jobs and gates (instances) on it, each several or all', () => {
    const [datasource, ...rest] = variables
    expect(datasource).toMatchObject({ type: 'datasource', name: 'datasource', query: 'prometheus' })
    for (const name of ['job', 'instance']) {
      const v = rest.find((r) => r.name === name)
      expect(v, name).toMatchObject({ type: 'query', multi: true, includeAll: true })
      expect(v?.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' })
      expect(readLabelValuesQuery(v?.query.query).label).toBe(name)
    }
    // The instance list follows the picked jobs.
    const instance = readLabelValuesQuery(rest.find((r) => r.name === 'instance')?.query.query)
    expect(instance.use.selectors[0]?.matchers).toContainEqual({ label: 'job', op: '=~', value: '$job' })
  })

  it('reads every panel and every query from the datasource variable', () => {
    expect(panels.length).toBeGreaterThan(20)
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' })
      expect(p.targets?.length, p.title).toBeGreaterThan(0)
      for (const t of p.targets ?? []) expect(t.datasource, p.title).toEqual(p.datasource)
      const refIds = (p.targets ?? []).map((t) => t.refId)
      expect(new Set(refIds).size, p.title).toBe(refIds.length)
    }
  })

  it('narrows every series of every panel to the picked jobs and gates', () => {
    for (const p of panels)
      for (const t of p.targets ?? [])
        for (const s of readPromql(t.expr).selectors) {
          expect(s.matchers, `${p.title}: ${s.metric}`).toContainEqual({
            label: 'job',
            op: '=~',
            value: '$job',
          })
          expect(s.matchers, `${p.title}: ${s.metric}`).toContainEqual({
            label: 'instance',
            op: '=~',
            value: '$instance',
          })
        }
  })

  it('gives every panel a unique id, a title, a description and its own place on the 24-column grid', () => {
    const all = dashboard.panels as Panel[]
    const ids = all.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const p of panels) {
      expect(p.title).not.toBe('')
      expect(p.description?.length, p.title).toBeGreaterThan(20)
    }
    const cells = new Set<string>()
    for (const p of all) {
      const { x, y, w, h } = p.gridPos
      expect(w > 0 && h > 0 && x >= 0 && x + w <= 24, p.title).toBe(true)
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p.title} overlaps another panel`).toBe(false)
          cells.add(`${i},${j}`)
        }
    }
  })
})

/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-')

describe('deploy/prometheus/alerts.yml', () => {
  it('has the alerts issue 15 asks for, two for the shared tier and streak memory, and one for Meta', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        'ConsentGateDown',
        'ConsentGateCircuitOpen',
        'ConsentGateUpstreamErrorsHigh',
        'ConsentGateUpstreamAuthFailed',
        'ConsentGateChecksShed',
        'ConsentGateCheckLatencyHigh',
        'ConsentGateCacheHitRatioCollapsed',
        'ConsentGateSharedTierDown',
        'ConsentGateUpstreamBudgetExhausted',
        'ConsentGateWebhookAuthFailures',
        'ConsentGateSharedTierLostWrites',
        'ConsentGateStreakBlocksEvicted',
        'ConsentGateMetaNumbersUnknown',
      ].sort(),
    )
  })

  it('gives every alert a severity, a for: duration, a summary and a description naming the gate', () => {
    for (const r of rules) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels.severity)
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/)
      expect(r.annotations.summary, r.alert).toContain('{{ $labels.instance }}')
      expect(r.annotations.description, r.alert).toContain('{{ $labels.instance }}')
    }
  })

  it('links every alert to its own section of docs/runbook.md', () => {
    const sections = [...read('docs/runbook.md').matchAll(/^## (.+)$/gm)].map((m) => m[1]!.trim())
    for (const r of rules) {
      expect(r.annotations.runbook_url, r.alert).toBe(`docs/runbook.md#${anchor(r.alert)}`)
      expect(sections, r.alert).toContain(r.alert)
    }
  })

  it('points the runbook only at panels the dashboard has (_Panel title_)', () => {
    const named = [...read('docs/runbook.md').matchAll(/(?<!\w)_([^_\n]+?)_(?!\w)/g)].map((m) => m[1]!)
    expect(named.length).toBeGreaterThan(10)
    const titles = (dashboard.panels as Panel[]).map((p) => p.title)
    for (const title of named) expect(titles, title).toContain(title)
  })

  it('is tested by alerts.test.yml: each alert fires for one series and not for another', () => {
    const tests = (parse(read('deploy/prometheus/alerts.test.yml')) as { tests: any[] }).tests
    expect(parse(read('deploy/prometheus/alerts.test.yml')).rule_files).toEqual(['alerts.yml'])
    const cases = tests.flatMap((t) => t.alert_rule_test as { alertname: string; exp_alerts: unknown[] }[])
    for (const r of rules) {
      const own = cases.filter((c) => c.alertname === r.alert)
      expect(
        own.some((c) => c.exp_alerts.length > 0),
        `${r.alert} fires`,
      ).toBe(true)
      expect(
        own.some((c) => c.exp_alerts.length === 0),
        `${r.alert} stays quiet`,
      ).toBe(true)
    }
  })
})
