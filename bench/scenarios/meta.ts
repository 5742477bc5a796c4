import path from 'node:path'
import { consentsFor, pairPath } from '../lib/fixtures.js'
import { count, type LoadResult, runLoad } from '../lib/load.js'
import { int, ms, ratio, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { countLogLines, startServer, type Server } from '../lib/servers.js'
import { median } from '../lib/stats.js'
import { campaign } from './meta-campaign.js'
import { startDoorSim, total, type DoorSim } from './meta-sim.js'

/** As scenario 2's sustained cold path, so the Kaleyra rows here are its judged row and its "before" row. */
const CONCURRENCY = 100
const UPSTREAM_LATENCY_MS = 50
const LIFTED = { UPSTREAM_MAX_RPS: '0', UPSTREAM_MAX_INFLIGHT: '256', UPSTREAM_MAX_QUEUE: '10000' }
/**
 * A Meta gate takes no lifted rate: UPSTREAM=meta refuses UPSTREAM_MAX_RPS above 50 (or 0), half Meta's 100/s, since
 * a token bucket whose burst is its rate may start twice its rate within one second. So its budget is lifted but for
 * the rate, left at the default 50, the most it may have. The simulator holds it to Meta's 100 in any second, with 613.
 */
const META_LIFTED = { UPSTREAM_MAX_INFLIGHT: '256', UPSTREAM_MAX_QUEUE: '10000' }
/** Checks/s of the paced rows: under the Meta gate's 50/s, so latency is the upstream's and the gate's, not a queue's. */
const PACED_RPS = 40
const PACED_CONNECTIONS = 10
/** Users no other scenario asks. */
const FIRST_USER = 30_000_000

interface Variant {
  name: string
  meta: boolean
  env: Record<string, string>
  /** Paced at PACED_RPS over PACED_CONNECTIONS; else closed-loop at CONCURRENCY. */
  paced?: boolean
  /** Part of the users this variant asks per run (default all): the paced rows and the repeat row are shorter. */
  share?: number
  /** Each user asked this many times back to back (coalesced into one request, or a hit once it is cached). */
  repeat?: number
  /** Left out of a --quick run, which only keeps the script working: Kaleyra's rows other than the judged one. */
  full?: boolean
}

const KALEYRA_BATCHED = 'Kaleyra, batching defaults'
const KALEYRA_SINGLE = 'Kaleyra, no batching (BATCH_WINDOW_MS=0)'
const SINGLE = { ...LIFTED, BATCH_WINDOW_MS: '0' }
const BATCHED: Variant = { name: `${KALEYRA_BATCHED} (scenario 2, judged row)`, meta: false, env: LIFTED }
const META: Variant = {
  name: 'Meta, UPSTREAM_MAX_RPS=50 (default, the most allowed)',
  meta: true,
  env: META_LIFTED,
}
const REPEATED: Variant = {
  name: 'Meta, each user asked twice',
  meta: true,
  env: META_LIFTED,
  share: 0.2,
  repeat: 2,
}
const paced = (name: string, meta: boolean, env: Record<string, string>, full?: boolean): Variant => ({
  name: `${name}, ${PACED_RPS}/s`,
  meta,
  env,
  paced: true,
  share: 0.1,
  full,
})
const BATCHED_PACED = paced(KALEYRA_BATCHED, false, LIFTED, true)
const SINGLE_PACED = paced(KALEYRA_SINGLE, false, SINGLE, true)
const META_PACED = paced('Meta', true, META_LIFTED)
const VARIANTS: Variant[] = [
  BATCHED,
  { name: KALEYRA_SINGLE, meta: false, env: SINGLE, full: true },
  META,
  REPEATED,
  BATCHED_PACED,
  SINGLE_PACED,
  META_PACED,
]

interface Run {
  variant: Variant
  rep: number
  load: LoadResult
  /** Answers at the simulator's door, by status: Meta's 613 is a 429. */
  statuses: Record<number, number>
  upstreamLatency: { p50: number; p99: number }
  /** The gate's CPU per 200, µs: steadier than latency when other work shares the cores. */
  gateCpuUs: number
}

/**
 * 10. Meta's cold path. Scenario 2's sustained cold load (2,000 distinct users over 2 businesses, each asked once,
 * 100 connections, upstream latency 50 ms) against Kaleyra and against Meta's Graph API through the same simulator
 * and door, then misses paced under the Meta gate's 50/s, the variants taking turns run by run; then a campaign
 * start under Meta's limit (meta-campaign.ts).
 */
export async function meta(ctx: ScenarioContext): Promise<ScenarioReport> {
  const cold = await coldRows(ctx)
  const start = await campaign(ctx)
  return {
    title: "10. Meta's cold path and a campaign start under its limit",
    markdown: [cold.markdown, '', start.markdown].join('\n'),
    targets: [...cold.targets, ...start.targets],
  }
}

async function coldRows(ctx: ScenarioContext): Promise<ScenarioReport> {
  const users = ctx.quick ? 100 : 2000
  const reps = ctx.quick ? 1 : 3
  const variants = VARIANTS.filter((v) => !(ctx.quick && v.full))
  const sim = await startDoorSim({ metaMaxRps: 100 })
  const gates: Server[] = []
  const runs: Run[] = []
  let next = FIRST_USER
  const fresh = (n: number) => (next += n) - n
  try {
    await sim.setLatency(UPSTREAM_LATENCY_MS)
    // One gate per variant, all up at once, so the variants can take turns: on a shared machine the load of the
    // moment then weighs on each alike.
    const started = await Promise.allSettled(
      variants.map((v, i) =>
        startServer('gate', sim, {
          env: { ...(v.meta ? sim.metaEnv : {}), ...v.env },
          logFile: logOf(ctx, i),
        }),
      ),
    )
    for (const s of started) if (s.status === 'fulfilled') gates.push(s.value)
    for (const s of started) if (s.status === 'rejected') throw s.reason
    // Round -1 warms the JIT and the keep-alive pools with a tenth of the users (Meta's rows are long: 100/s).
    for (let rep = ctx.quick ? 0 : -1; rep < reps; rep++) {
      const order = variants.map((_, i) => i)
      if (rep % 2 === 1) order.reverse()
      for (const i of order) {
        const v = variants[i]!
        const n = Math.round((users * (v.share ?? 1)) / (rep < 0 ? 10 : 1))
        const run = await once(sim, gates[i]!, v, fresh(n), n)
        if (rep >= 0) runs.push({ ...run, rep })
      }
      ctx.log(`meta cold path: round ${rep + 1} of ${reps}${rep < 0 ? ' (warm-up)' : ''} done`)
    }
  } finally {
    for (const gate of gates) await gate.stop()
    await sim.stop()
  }
  // The gates are stopped: their decision logs are flushed. The warm-up round counts too.
  const opened = new Map<Variant, number>()
  for (const [i, v] of variants.entries())
    opened.set(v, await countLogLines(logOf(ctx, i), 'upstream circuit changed state', '"state":"open"'))
  return summarize(runs, opened, users, reps, ctx.quick)
}

const logOf = (ctx: ScenarioContext, i: number) => path.join(ctx.outDir, `meta-cold-${i}.log`)

async function once(
  sim: DoorSim,
  gate: Server,
  variant: Variant,
  firstUser: number,
  checks: number,
): Promise<Omit<Run, 'rep'>> {
  // Kaleyra's simulator scans its whole store per request: only this run's users stay in it.
  await sim.clear()
  await sim.seed(consentsFor(firstUser, checks, Date.now()))
  // Meta's window is one second: the last run's requests are out of it.
  if (variant.meta) await new Promise((resolve) => setTimeout(resolve, 1000))
  await sim.takeStatuses()
  await sim.takeLatency()
  const repeat = variant.repeat ?? 1
  const gate0 = await gate.stats()
  const load = await runLoad({
    url: gate.url,
    connections: Math.min(checks, variant.paced ? PACED_CONNECTIONS : CONCURRENCY),
    ...(variant.paced && { overallRate: PACED_RPS }),
    amount: checks,
    timeoutS: 30,
    path: (n) => pairPath(firstUser + Math.floor(n / repeat)),
  })
  const gate1 = await gate.stats()
  const cpuUs = gate1.cpu.user - gate0.cpu.user + gate1.cpu.system - gate0.cpu.system
  return {
    variant,
    load,
    statuses: await sim.takeStatuses(),
    upstreamLatency: await sim.takeLatency(),
    gateCpuUs: cpuUs / count(load.statuses, 200),
  }
}

const ok = (r: Run) => count(r.load.statuses, 200)
const perDecision = (r: Run) => total(r.statuses) / ok(r)

/** Median over the rounds of (a's figure / b's figure) in the same round. */
function pairedRatio(runs: Run[], a: Variant, b: Variant, figure: (r: Run) => number): number {
  const ratios = runs
    .filter((r) => r.variant === a)
    .map((r) => {
      const other = runs.find((o) => o.variant === b && o.rep === r.rep)
      return other ? figure(r) / figure(other) : NaN
    })
  return median(ratios)
}

function summarize(
  runs: Run[],
  opened: Map<Variant, number>,
  users: number,
  reps: number,
  quick: boolean,
): ScenarioReport {
  const of = (v: Variant) => runs.filter((r) => r.variant === v)
  const med = (v: Variant, f: (r: Run) => number) => median(of(v).map(f))
  const rows = VARIANTS.filter((v) => of(v).length > 0).map((v) => [
    v.name,
    int(med(v, ok)),
    // A run the breaker cut short shows in one round only: every round's count, not the median.
    of(v)
      .map((r) => int(r.load.responses - ok(r) + r.load.errors))
      .join(', '),
    int(med(v, (r) => total(r.statuses))),
    int(med(v, (r) => r.statuses[429] ?? 0)),
    med(v, perDecision).toFixed(3),
    int(med(v, (r) => r.load.rps)),
    ms(med(v, (r) => r.load.p50)),
    ms(med(v, (r) => r.load.p99)),
    `${ms(med(v, (r) => r.upstreamLatency.p50))} / ${ms(med(v, (r) => r.upstreamLatency.p99))}`,
    `${int(med(v, (r) => r.gateCpuUs))} µs`,
    String(opened.get(v) ?? 0),
  ])
  const against = (a: Variant, b: Variant, label: string) => [
    label,
    ratio(pairedRatio(runs, a, b, (r) => r.load.rps)),
    ratio(pairedRatio(runs, a, b, (r) => r.load.p50)),
    ratio(pairedRatio(runs, a, b, (r) => r.load.p99)),
    ratio(pairedRatio(runs, a, b, (r) => r.gateCpuUs)),
  ]
  const rate = `${PACED_RPS}/s`
  const meta613 = med(META, (r) => r.statuses[429] ?? 0)
  const pacedPerDecision = med(META_PACED, perDecision)
  const repeatedPerDecision = med(REPEATED, perDecision)
  const pacedP99 = med(META_PACED, (r) => r.load.p99)
  const pacedUpstreamP99 = med(META_PACED, (r) => r.upstreamLatency.p99)
  const markdown = [
    table(
      [
        'cold path',
        'decisions (200)',
        'not 200 (rounds)',
        'upstream requests',
        '613',
        'upstream/decision',
        'decisions/s',
        'p50',
        'p99',
        'upstream p50 / p99',
        'gate CPU/decision',
        'circuit opened',
      ],
      rows,
    ),
    '',
    table(
      ['same round', 'decisions/s', 'p50', 'p99', 'gate CPU/decision'],
      [
        against(META, BATCHED, `Meta / Kaleyra batched, ${CONCURRENCY} connections`),
        against(META_PACED, BATCHED_PACED, `Meta / Kaleyra batched, ${rate}`),
        against(META_PACED, SINGLE_PACED, `Meta / Kaleyra unbatched, ${rate}`),
      ],
    ),
    '',
    `Every user cold, simulator latency ${UPSTREAM_LATENCY_MS} ms. The first three rows: ${int(users)} checks over 2 ` +
      `businesses per run, ${CONCURRENCY} connections (closed loop), as scenario 2; the repeat row: ` +
      `${int(users * 0.1)} users asked twice each; the last three: ${int(users * 0.1)} checks paced at ${rate} over ` +
      `${PACED_CONNECTIONS} connections. Kaleyra gates: budget lifted (\`UPSTREAM_MAX_RPS=0 ` +
      'UPSTREAM_MAX_INFLIGHT=256 UPSTREAM_MAX_QUEUE=10000`). Meta gates: the same but for the rate, which ' +
      "`UPSTREAM=meta` keeps at 50 at most (the default). The simulator allows Meta's 100 requests in any second " +
      'and answers the next with 613 (HTTP 429, no Retry-After). One gate per variant, the variants taking turns ' +
      `(order reversed every other round); median of ${reps} round(s)` +
      `${quick ? '' : ' after a warm-up round of a tenth the users'}, ratios the median of each round's ratio. ` +
      'Both upstreams go through the same simulator and door, where upstream requests (retries each count), 613s ' +
      "and upstream latency are counted. Gate CPU/decision: the gate's CPU over the run divided by its 200s. " +
      '"Circuit opened": breaker log lines of the variant\'s gate over all its runs, warm-up included.',
  ].join('\n')
  return {
    title: '',
    markdown,
    targets: [
      {
        scenario: 'meta cold path',
        target: `upstream requests/decision = 1.00 (one user per request; ${rate})`,
        measured: pacedPerDecision.toFixed(3),
        met: Math.abs(pacedPerDecision - 1) < 0.005,
      },
      {
        scenario: 'meta cold path',
        target: 'upstream requests/decision < 1 when users repeat (coalescing, hits)',
        measured: repeatedPerDecision.toFixed(3),
        met: repeatedPerDecision < 1,
      },
      {
        scenario: 'meta cold path',
        target: `p99 <= upstream p99 as measured + 25 ms (${rate})`,
        measured: `${ms(pacedP99)} vs ${ms(pacedUpstreamP99)} + 25 ms`,
        // A quick run has no warm-up round: its few checks open the connections and meet a cold JIT.
        met: quick ? null : pacedP99 <= pacedUpstreamP99 + 25,
      },
      {
        scenario: 'meta cold path',
        target: `no 613 at UPSTREAM_MAX_RPS=50, ${CONCURRENCY} connections`,
        measured: int(meta613),
        met: meta613 === 0,
      },
    ],
  }
}
