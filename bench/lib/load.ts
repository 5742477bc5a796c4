import autocannon from 'autocannon'
import { machineBusyMs } from './machine.js'
import { percentile } from './stats.js'

export interface LoadOptions {
  url: string
  connections: number
  /** Seconds; ignored when `amount` is set. */
  durationS?: number
  /** Total requests, then stop. */
  amount?: number
  /** Requests per second over all connections (autocannon paces each connection per second). */
  overallRate?: number
  /**
   * Either a fixed list of paths, dealt out to the connections (connection k cycles over every
   * connections-th path) and encoded once, so the load generator spends nothing per request on them...
   */
  paths?: readonly string[]
  /** ...or the path of the n-th request built (one shared counter: each n is used once, e.g. distinct users). */
  path?: (n: number) => string
  method?: 'GET' | 'POST'
  body?: string
  timeoutS?: number
}

export interface LoadResult {
  /** Completed responses of any status. */
  responses: number
  /** 2xx responses per second of wall time. */
  rps: number
  /** Latency of 2xx responses, ms, from autocannon's per-response timings (sub-millisecond). */
  p50: number
  p99: number
  max: number
  statuses: Record<number, number>
  /** Socket errors and timeouts: never an HTTP answer. */
  errors: number
  timeouts: number
  wallMs: number
  /** CPU the load generator (this process) used, as a share of one core. */
  loadgenCpu: number
  /** CPU the whole machine used, in cores (this process, the servers and anyone else's). */
  machineCpu: number
}

/** Runs autocannon as a library and keeps every response time, so percentiles are not rounded to ms. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = []
  const statuses: Record<number, number> = {}
  let errors = 0
  let n = 0
  let clients = 0
  const dynamic = opts.path
  const base = {
    method: opts.method ?? 'GET',
    body: opts.body,
    headers: opts.body ? { 'content-type': 'application/json' } : {},
  } as const
  const cpu0 = process.cpuUsage()
  const busy0 = machineBusyMs()
  const t0 = performance.now()
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        duration: opts.durationS ?? 10,
        ...(opts.amount !== undefined && { amount: opts.amount }),
        ...(opts.overallRate !== undefined && { overallRate: opts.overallRate }),
        timeout: opts.timeoutS ?? 10,
        requests: [{ ...base, ...(dynamic && { setupRequest: (req) => ({ ...req, path: dynamic(n++) }) }) }],
        setupClient: (client) => {
          if (!opts.paths) return
          const k = clients++
          const mine = opts.paths.filter((_, i) => i % opts.connections === k)
          client.setRequests(mine.map((p) => ({ ...base, path: p })))
        },
      },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)))
        const wallMs = performance.now() - t0
        const used = process.cpuUsage(cpu0)
        const sorted = Float64Array.from(latencies).sort()
        const ok = Object.entries(statuses)
          .filter(([code]) => code.startsWith('2'))
          .reduce((sum, [, count]) => sum + count, 0)
        resolve({
          responses: Object.values(statuses).reduce((a, b) => a + b, 0),
          rps: ok / (wallMs / 1000),
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          max: sorted[sorted.length - 1] ?? NaN,
          statuses,
          errors: errors,
          timeouts: result.timeouts,
          wallMs,
          loadgenCpu: (used.user + used.system) / 1000 / wallMs,
          machineCpu: (machineBusyMs() - busy0) / wallMs,
        })
      },
    )
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime)
    })
    instance.on('reqError', () => errors++)
  })
}

/** Counts of statuses other than 2xx, e.g. `503: 12`, or '0'. */
export function nonOk(statuses: Record<number, number>): string {
  const parts = Object.entries(statuses)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, count]) => `${code}: ${count}`)
  return parts.length ? parts.join(', ') : '0'
}

export const count = (statuses: Record<number, number>, code: number): number => statuses[code] ?? 0
