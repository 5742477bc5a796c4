import { Counter, type CounterConfiguration, type Metric, type Registry } from 'prom-client'

/**
 * A counter for the per-check hot path, handed to prom-client only at scrape time: prom-client validates and hashes
 * the labels on every inc(), ~10 µs of a cache hit's ~185 with the request histogram (bench/profile-diff.ts).
 * One or two labels, whose values must be few (reason codes, sources, results).
 */
export interface DeferredCounter {
  /** Adds 1 for these label values, in the order of `labelNames` (the second only with two labels). */
  inc(first: string, second?: string): void
}

interface Slot {
  labels: Partial<Record<string, string>>
  pending: number
}

export function deferredCounter<L extends string>(
  config: Omit<CounterConfiguration<L>, 'collect' | 'labelNames'> & {
    labelNames: readonly [L] | readonly [L, L]
  },
): DeferredCounter {
  const [firstName, secondName] = config.labelNames
  // A Map level per label: no key string is built per increment.
  const byFirst = new Map<string, Map<string | undefined, Slot>>()
  const slots: Slot[] = []
  const counter: Counter<L> = new Counter<L>({
    ...config,
    collect() {
      for (const slot of slots) {
        if (slot.pending === 0) continue
        counter.inc(slot.labels as Partial<Record<L, string>>, slot.pending)
        slot.pending = 0
      }
    },
  })

  function newSlot(first: string, second: string | undefined): Slot {
    const labels: Partial<Record<string, string>> = { [firstName]: first }
    if (secondName !== undefined) labels[secondName] = second ?? ''
    const slot = { labels, pending: 0 }
    slots.push(slot)
    return slot
  }

  return {
    inc(first, second) {
      let level = byFirst.get(first)
      if (!level) byFirst.set(first, (level = new Map<string | undefined, Slot>()))
      let slot = level.get(second)
      if (!slot) level.set(second, (slot = newSlot(first, second)))
      slot.pending++
    },
  }
}

/**
 * A histogram for the per-request hot path: one typed-array bucket count per observation, read by prom-client only at
 * scrape time. prom-client's observe() validates and hashes the labels and walks an object per call (~2.5 µs of a
 * cache hit, bench/README.md); here an observation is a map read and an array increment.
 */
export interface DeferredHistogram {
  /** Records one observation for these two label values (in the order of `labelNames`; a number is its decimal). */
  observe(first: string, second: string | number, value: number): void
}

interface Series {
  labels: Record<string, string>
  /** Non-cumulative counts per bucket; the last is +Inf. */
  counts: Float64Array
  sum: number
  count: number
}

interface MetricValue {
  labels: Record<string, string | number>
  value: number
  metricName: string
}

export function deferredHistogram(config: {
  name: string
  help: string
  labelNames: readonly [string, string]
  buckets: readonly number[]
  registers: readonly Registry[]
}): DeferredHistogram {
  const { name, labelNames, buckets } = config
  const [firstName, secondName] = labelNames
  const byFirst = new Map<string, Map<string | number, Series>>()
  const series: Series[] = []

  // What prom-client's registry reads from a metric: name, help, type, and get() with values in its shape.
  const metric = {
    name,
    help: config.help,
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    get: async () => ({
      name,
      help: config.help,
      type: 'histogram' as const,
      aggregator: 'sum' as const,
      values: series.flatMap(exportSeries),
    }),
    reset: () => {
      byFirst.clear()
      series.length = 0
    },
  }
  for (const registry of config.registers) registry.registerMetric(metric as unknown as Metric)

  function exportSeries(s: Series): MetricValue[] {
    let cumulative = 0
    const out: MetricValue[] = buckets.map((le, i) => {
      cumulative += s.counts[i] ?? 0
      return { labels: { le, ...s.labels }, value: cumulative, metricName: `${name}_bucket` }
    })
    out.push(
      { labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${name}_bucket` },
      { labels: s.labels, value: s.sum, metricName: `${name}_sum` },
      { labels: s.labels, value: s.count, metricName: `${name}_count` },
    )
    return out
  }

  function newSeries(first: string, second: string | number): Series {
    const s = {
      labels: { [firstName]: first, [secondName]: String(second) },
      counts: new Float64Array(buckets.length + 1),
      sum: 0,
      count: 0,
    }
    series.push(s)
    return s
  }

  return {
    observe(first, second, value) {
      let level = byFirst.get(first)
      if (!level) byFirst.set(first, (level = new Map<string | number, Series>()))
      let s = level.get(second)
      if (!s) level.set(second, (s = newSeries(first, second)))
      let i = 0
      while (i < buckets.length && value > buckets[i]!) i++
      s.counts[i]!++
      s.sum += value
      s.count++
    },
  }
}
