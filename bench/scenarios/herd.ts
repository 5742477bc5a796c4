import path from 'node:path'
import { Pool } from 'undici'
import { canCallPath, consentFor, userNumber, BUSINESSES } from '../lib/fixtures.js'
import { int, ms, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { delta, scrape } from '../lib/scrape.js'
import { startServer, startSim } from '../lib/servers.js'
import { median, percentile } from '../lib/stats.js'

const CHECKS = 1000
const UPSTREAM_LATENCY_MS = 50

/**
 * 3. Herd: 1,000 concurrent checks of one cold pair. autocannon opens a connection and sends at once, so
 * 1,000 of its connections would spread the checks over the time it takes to connect them, and most would
 * arrive after the answer is cached. Here the 1,000 keep-alive connections are opened first (with
 * /healthz), then every check is written at once: they are truly concurrent.
 */
export async function herd(ctx: ScenarioContext): Promise<ScenarioReport> {
  const rounds = ctx.quick ? 1 : 5
  const sim = await startSim()
  const rows: (string | number)[][] = []
  const upstreams: number[] = []
  const p99s: number[] = []
  try {
    await sim.seed(Array.from({ length: rounds + 1 }, (_, i) => consentFor(i, Date.now(), BUSINESSES[0])))
    await sim.setLatency(UPSTREAM_LATENCY_MS)
    const gate = await startServer('gate', sim, { logFile: path.join(ctx.outDir, 'herd-gate.log') })
    const pool = new Pool(gate.url, { connections: CHECKS, pipelining: 1 })
    try {
      // Opens every connection (and warms the JIT on a pair that is not measured).
      await fire(pool, canCallPath(BUSINESSES[0], userNumber(rounds)))
      for (let round = 0; round < rounds; round++) {
        await sim.takeRequestCount()
        const before = await scrape(gate.url)
        const { latencies, statuses } = await fire(pool, canCallPath(BUSINESSES[0], userNumber(round)))
        const upstream = await sim.takeRequestCount()
        const after = await scrape(gate.url)
        const lookups = (result: string) =>
          delta(before, after, 'consent_gate_cache_lookups_total', `result="${result}"`)
        const p99 = percentile(latencies, 0.99)
        upstreams.push(upstream)
        p99s.push(p99)
        rows.push([
          round + 1,
          upstream,
          `${lookups('miss')} / ${lookups('coalesced')} / ${lookups('hit')}`,
          statuses.get(200) ?? 0,
          CHECKS - (statuses.get(200) ?? 0),
          ms(percentile(latencies, 0.5)),
          ms(p99),
          ms(latencies[latencies.length - 1] ?? NaN),
        ])
      }
    } finally {
      await pool.close()
      await gate.stop()
    }
  } finally {
    await sim.stop()
  }
  const worstUpstream = Math.max(...upstreams)
  const worstP99 = Math.max(...p99s)
  const medianP99 = median(p99s)
  const markdown = [
    table(
      ['round', 'upstream requests', 'miss / coalesced / hit', '200', 'other', 'p50', 'p99', 'max'],
      rows,
    ),
    '',
    `${int(CHECKS)} checks of one cold pair written at once over ${int(CHECKS)} open keep-alive connections ` +
      `(undici Pool), simulator latency ${UPSTREAM_LATENCY_MS} ms, gate defaults. A new pair each round. ` +
      "miss / coalesced / hit: how the gate's cache answered (from /metrics).",
  ].join('\n')
  return {
    title: '3. Herd',
    markdown,
    targets: [
      {
        scenario: 'herd',
        target: 'upstream requests = 1',
        measured: `${worstUpstream} (worst round)`,
        met: worstUpstream === 1,
      },
      {
        scenario: 'herd',
        target: 'p99 (no target)',
        measured: `${ms(medianP99)} median, ${ms(worstP99)} worst round`,
        met: null,
      },
    ],
  }
}

/** Sends CHECKS requests at once; latencies ascending. */
async function fire(pool: Pool, path: string) {
  const statuses = new Map<number, number>()
  const latencies = await Promise.all(
    Array.from({ length: CHECKS }, async () => {
      const t0 = performance.now()
      const res = await pool.request({ method: 'GET', path })
      await res.body.dump()
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      return performance.now() - t0
    }),
  )
  return { latencies: Float64Array.from(latencies).sort(), statuses }
}
