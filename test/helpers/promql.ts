// Reading PromQL and the Prometheus text format just far enough to check the dashboard and alerts against a
// real scrape: which series an expression selects (with its label matchers) and which labels it groups by.

export interface Matcher {
  label: string
  op: '=' | '!=' | '=~' | '!~'
  value: string
}
export interface Selector {
  metric: string
  matchers: Matcher[]
}
export interface ExprUse {
  selectors: Selector[]
  /** Labels named in by/without/on/ignoring/group_left/group_right clauses. */
  grouping: string[]
  /** True when an aggregation (sum, max, ...) decides which labels survive. */
  aggregates: boolean
}

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'])
const KEYWORDS = new Set([...GROUPING, 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2'])
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
])

type Token = { kind: 'ident' | 'string' | 'number' | 'punct' | 'var'; text: string }

const TOKEN =
  /\s+|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|(\[[^\]]*\])|(\$\{?\w+\}?)|(\d[\w.]*)|([A-Za-z_:][\w:]*)|(=~|!~|!=|==|>=|<=|[{}(),=<>+\-*/%^@])/y

function tokenize(expr: string): Token[] {
  const tokens: Token[] = []
  TOKEN.lastIndex = 0
  while (TOKEN.lastIndex < expr.length) {
    const at = TOKEN.lastIndex
    const m = TOKEN.exec(expr)
    if (!m) throw new Error(`cannot read PromQL at ${at}: ${expr.slice(at, at + 30)}`)
    const [, str, range, variable, num, ident, punct] = m
    if (str !== undefined)
      tokens.push({ kind: 'string', text: JSON.parse(`"${str.slice(1, -1)}"`) as string })
    else if (variable !== undefined) tokens.push({ kind: 'var', text: variable })
    else if (num !== undefined) tokens.push({ kind: 'number', text: num })
    else if (ident !== undefined) tokens.push({ kind: 'ident', text: ident })
    else if (punct !== undefined) tokens.push({ kind: 'punct', text: punct })
    // Whitespace and range or subquery brackets ([5m], [$__rate_interval], [1h:5m]) name no series.
    else if (range === undefined && m[0].trim() !== '') throw new Error(`unexpected ${m[0]}`)
  }
  return tokens
}

/** The series, label matchers and grouping labels of one PromQL expression (Grafana variables allowed). */
export function readPromql(expr: string): ExprUse {
  const tokens = tokenize(expr)
  const use: ExprUse = { selectors: [], grouping: [], aggregates: false }
  const next = (i: number) => tokens[i + 1]?.text
  const matchersFrom = (i: number): [Matcher[], number] => {
    const matchers: Matcher[] = []
    let j = i + 1
    while (tokens[j]?.text !== '}') {
      const [label, op, value] = [tokens[j], tokens[j + 1], tokens[j + 2]]
      if (label?.kind !== 'ident' || value?.kind !== 'string') throw new Error(`bad matcher in ${expr}`)
      matchers.push({ label: label.text, op: op?.text as Matcher['op'], value: value.text })
      j += tokens[j + 3]?.text === ',' ? 4 : 3
    }
    return [matchers, j]
  }
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t.kind === 'punct' && t.text === '{') {
      const [matchers, end] = matchersFrom(i)
      const name = matchers.find((m) => m.label === '__name__' && m.op === '=')?.value
      if (name) use.selectors.push({ metric: name, matchers: matchers.filter((m) => m.label !== '__name__') })
      i = end
    } else if (t.kind === 'ident' && GROUPING.has(t.text) && next(i) === '(') {
      for (i += 2; tokens[i]?.text !== ')'; i++)
        if (tokens[i]?.kind === 'ident') use.grouping.push(tokens[i]!.text)
    } else if (t.kind === 'ident' && next(i) === '(') {
      if (AGGREGATIONS.has(t.text)) use.aggregates = true
    } else if (t.kind === 'ident' && AGGREGATIONS.has(t.text) && GROUPING.has(next(i) ?? '')) {
      use.aggregates = true
    } else if (t.kind === 'ident' && !KEYWORDS.has(t.text.toLowerCase())) {
      let matchers: Matcher[] = []
      if (next(i) === '{') [matchers, i] = matchersFrom(i + 1)
      use.selectors.push({ metric: t.text, matchers })
    }
  }
  return use
}

/** Grafana's `label_values(<selector>, <label>)` variable query, read as an expression and a label. */
export function readLabelValuesQuery(query: string): { use: ExprUse; label: string } {
  const m = /^label_values\((.*),\s*(\w+)\)$/.exec(query.trim())
  if (!m) throw new Error(`not a label_values query: ${query}`)
  return { use: readPromql(m[1]!), label: m[2]! }
}

/** Labels a Grafana legend template names: `{{reason}}`, `{{ instance }}`. */
export const legendLabels = (legend: string) => [...legend.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!)

// ---- the text format of a scrape ----

export interface Exposition {
  /** Metric family name -> type (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>
  /** Sample name (family name or its _bucket/_sum/_count) -> label -> values seen. */
  labels: Map<string, Map<string, Set<string>>>
}

export const emptyExposition = (): Exposition => ({ types: new Map(), labels: new Map() })

/** Adds one scrape to `into`: every family's type and every label value of its samples. */
export function readExposition(text: string, into: Exposition = emptyExposition()): Exposition {
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type) into.types.set(type[1]!, type[2]!)
    const sample = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? \S+/.exec(line)
    if (!sample || line.startsWith('#')) continue
    const byLabel = into.labels.get(sample[1]!) ?? new Map<string, Set<string>>()
    into.labels.set(sample[1]!, byLabel)
    for (const [, label, value] of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      const values = byLabel.get(label!) ?? new Set<string>()
      byLabel.set(label!, values.add(value!))
    }
  }
  return into
}

const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
}

/** The family a sample name belongs to (`x_bucket` -> `x` for a histogram `x`), or undefined if not exported. */
export function familyOf(exposition: Exposition, name: string): string | undefined {
  if (exposition.types.has(name)) return name
  for (const [family, type] of exposition.types)
    if ((SUFFIXES[type] ?? []).some((suffix) => name === family + suffix)) return family
  return undefined
}
