import path from 'node:path'
import { request } from 'undici'
import { businessFor, canCallPath, consentFor, userNumber } from '../lib/fixtures.js'
import { int, ms, pct, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { delta, scrape } from '../lib/scrape.js'
import { countLogLines, startServer } from '../lib/servers.js'
import { percentile } from '../lib/stats.js'
import { startDoorSim, total, type DoorSim } from './meta-sim.js'

const UPSTREAM_LATENCY_MS = 50
/** Meta's limit on call_permissions requests in any second; the simulator answers the next with 613. */
const META_MAX_RPS = 100
/** The users go in 4 batch requests, so "4 at once" is the CLI's default --concurrency. */
const CHUNKS = 4
/** As the precheck CLI's defaults (src/cli/precheck/retry.ts): 5 more asks, after 1 s, doubling, at most 30 s. */
const RETRIES = 5
const RETRY_BASE_MS = 1000
const RETRY_MAX_MS = 30_000
const LIVE_INTERVAL_MS = 500
/** Users no other scenario asks: the campaign's, then the live probes'. */
const FIRST_USER = 40_000_000
const FIRST_PROBE = 48_000_000

interface Variant {
  name: string
  /** UPSTREAM_MAX_RPS; the gate's default is 50. */
  maxRps: number
  /** Batch requests in flight at once. */
  concurrency: number
  /** Left out of a --quick run, which only keeps the script working; rows that retry wait out the backoff. */
  full?: boolean
}

// UPSTREAM=meta keeps UPSTREAM_MAX_RPS at 50 at most (the default): half Meta's 100/s, since the budget's burst is
// its rate and it may start twice its rate within one second.
const VARIANTS: Variant[] = [
  { name: 'UPSTREAM_MAX_RPS=50 (default), 1 batch request at a time', maxRps: 50, concurrency: 1 },
  { name: 'UPSTREAM_MAX_RPS=50, 4 at once (the CLI default)', maxRps: 50, concurrency: CHUNKS, full: true },
]

interface Probe {
  latencies: number[]
  failed: number
}

interface Run {
  variant: Variant
  wallMs: number
  passes: number
  /** Undecided answers (503 bodies in the batch) the driver asked again. */
  retried: number
  undecided: number
  statuses: Record<number, number>
  queueRejections: number
  circuitOpened: number
  quiet: Probe
  live: Probe
}

type Check = { business: string; user: string }

/**
 * A campaign start against Meta: `users` distinct cold users through POST /can-call/batch?priority=bulk, in 4
 * chunks, against a gate with UPSTREAM=meta and otherwise default budgets, and a simulator enforcing Meta's
 * 100/s with 613. Time to decide them all, 613s, and a live cold check every 500 ms meanwhile.
 */
export async function campaign(ctx: ScenarioContext): Promise<ScenarioReport> {
  const users = ctx.quick ? 200 : 2000
  const sim = await startDoorSim({ metaMaxRps: META_MAX_RPS })
  const runs: Run[] = []
  try {
    await sim.setLatency(UPSTREAM_LATENCY_MS)
    for (const [i, variant] of VARIANTS.filter((v) => !(ctx.quick && v.full)).entries()) {
      const first = FIRST_USER + i * 1_000_000
      runs.push(await once(ctx, sim, variant, first, users, FIRST_PROBE + i * 10_000))
      const r = runs[runs.length - 1]!
      ctx.log(`meta campaign ${variant.name}: ${ms(r.wallMs)}, ${r.statuses[429] ?? 0} x 613`)
    }
  } finally {
    await sim.stop()
  }
  return summarize(runs, users, ctx.quick)
}

async function once(
  ctx: ScenarioContext,
  sim: DoorSim,
  variant: Variant,
  first: number,
  users: number,
  firstProbe: number,
): Promise<Run> {
  const logFile = path.join(ctx.outDir, `meta-campaign-${variant.maxRps}-${variant.concurrency}.log`)
  const env = { ...sim.metaEnv, UPSTREAM_MAX_RPS: String(variant.maxRps) }
  const gate = await startServer('gate', sim, { env, logFile })
  let run: Omit<Run, 'circuitOpened'>
  try {
    await sim.clear()
    // A tenth granted, so the answers are not all no_consent; Meta's store is read by key, not scanned.
    await sim.seed(Array.from({ length: users / 10 }, (_, k) => consentFor(first + k * 10, Date.now())))
    const quiet = await probe(gate.url, firstProbe, ctx.quick ? 2 : 10, async () => undefined)
    // Meta's window is one second: the quiet probes' requests are out of it before the campaign starts.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    await sim.takeStatuses()
    const before = await scrape(gate.url)
    const checks = Array.from({ length: users }, (_, k) => ({
      business: businessFor(k),
      user: userNumber(first + k),
    }))
    let outcome: Awaited<ReturnType<typeof decideAll>> | undefined
    const started = performance.now()
    const live = await probe(gate.url, firstProbe + 1000, Infinity, async (stop) => {
      outcome = await decideAll(gate.url, checks, variant.concurrency)
      stop()
    })
    const { decidedAtMs, ...passes } = outcome!
    const statuses = await sim.takeStatuses()
    const queueRejections = delta(
      before,
      await scrape(gate.url),
      'consent_gate_upstream_budget_rejections_total',
    )
    run = { variant, wallMs: decidedAtMs - started, ...passes, statuses, queueRejections, quiet, live }
  } finally {
    await gate.stop()
  }
  // The gate is stopped: its decision log is flushed.
  const circuitOpened = await countLogLines(logFile, 'upstream circuit changed state', '"state":"open"')
  return { ...run, circuitOpened }
}

/**
 * Asks every check through POST /can-call/batch?priority=bulk, `concurrency` requests at once, then asks again
 * what came back undecided (a 503 body: a full queue, an open circuit, Meta's limit past the retries) after a
 * pause, as the precheck CLI does.
 */
async function decideAll(url: string, checks: Check[], concurrency: number) {
  const size = Math.ceil(checks.length / CHUNKS)
  let todo = checks
  let passes = 0
  let retried = 0
  for (; passes <= RETRIES && todo.length > 0; passes++) {
    // The CLI pauses between half and all of this, at random; the bench takes all of it.
    const pauseMs = Math.min(RETRY_BASE_MS * 2 ** (passes - 1), RETRY_MAX_MS)
    if (passes > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    const chunks: Check[][] = []
    for (let i = 0; i < todo.length; i += size) chunks.push(todo.slice(i, i + size))
    const undecided: Check[] = []
    let nextChunk = 0
    const worker = async () => {
      for (let chunk = chunks[nextChunk++]; chunk; chunk = chunks[nextChunk++])
        undecided.push(...(await askBatch(url, chunk)))
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    if (passes > 0) retried += todo.length
    todo = undecided
  }
  return { decidedAtMs: performance.now(), passes, retried, undecided: todo.length }
}

/** One batch request; the checks it could not decide. */
async function askBatch(url: string, checks: Check[]): Promise<Check[]> {
  const res = await request(`${url}/can-call/batch?priority=bulk`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ checks }),
  })
  const body = (await res.body.json()) as { results?: { message?: string }[] }
  if (res.statusCode !== 200 || !body.results) return checks
  // A decision has no message; an error body (503 upstream_unavailable, overloaded) has one.
  return checks.filter((_, k) => body.results?.[k]?.message !== undefined)
}

/**
 * A live cold GET /can-call every LIVE_INTERVAL_MS (a dialer's question while the campaign runs), until `count`
 * are asked or `work` calls stop(). Latencies in ms of the 200s, and the count of other answers.
 */
async function probe(
  url: string,
  firstUser: number,
  count: number,
  work: (stop: () => void) => Promise<void>,
): Promise<Probe> {
  const latencies: number[] = []
  let failed = 0
  let stopped = false
  const working = work(() => (stopped = true))
  for (let i = 0; i < count && !stopped; i++) {
    const t0 = performance.now()
    const res = await request(`${url}${canCallPath(businessFor(i), userNumber(firstUser + i))}`)
    await res.body.dump()
    if (res.statusCode === 200) latencies.push(performance.now() - t0)
    else failed++
    await new Promise((r) => setTimeout(r, Math.max(0, LIVE_INTERVAL_MS - (performance.now() - t0))))
  }
  await working
  return { latencies, failed }
}

const quantile = (values: number[], q: number) => percentile(Float64Array.from(values).sort(), q)

function summarize(runs: Run[], users: number, quick: boolean): ScenarioReport {
  // Decided users over the wall time, which ends when the last was decided or the retries ran out.
  const rate = (r: Run) => (users - r.undecided) / (r.wallMs / 1000)
  const rows = runs.map((r) => [
    r.variant.name,
    ms(r.wallMs),
    int(users - r.undecided),
    int(rate(r)),
    pct(rate(r) / r.variant.maxRps),
    String(r.passes),
    int(r.retried),
    int(r.undecided),
    int(total(r.statuses)),
    int(r.statuses[429] ?? 0),
    int(r.queueRejections),
    String(r.circuitOpened),
    `${ms(quantile(r.live.latencies, 0.5))} / ${ms(quantile(r.live.latencies, 0.99))} (${r.live.latencies.length})`,
    String(r.live.failed),
  ])
  const quiet = runs.flatMap((r) => r.quiet.latencies)
  const judged = runs.find((r) => r.variant.concurrency === 1)
  const all613 = runs.reduce((sum, r) => sum + (r.statuses[429] ?? 0), 0)
  const minutes = (perS: number) => (100_000 / perS / 60).toFixed(1)
  const markdown = [
    table(
      [
        'campaign start, Meta',
        'wall',
        'decided',
        'decisions/s',
        'of UPSTREAM_MAX_RPS',
        'passes',
        'asked again',
        'undecided',
        'Meta requests',
        '613',
        'queue full',
        'circuit opened',
        'live p50 / p99 (checks)',
        'live not 200',
      ],
      rows,
    ),
    '',
    `${int(users)} distinct cold users over 2 businesses (a tenth granted) through \`POST /can-call/batch?priority=bulk\` ` +
      `in ${CHUNKS} requests, against a gate with \`UPSTREAM=meta\` and default budgets (UPSTREAM_MAX_RPS 50, the ` +
      'most a Meta gate takes; 16 in flight, of which bulk may take 8, and half the burst; queue 100 a class), and ' +
      `a simulator answering in ${UPSTREAM_LATENCY_MS} ms that allows ${META_MAX_RPS} call_permissions requests in ` +
      'any second and answers the next with 613 (HTTP 429, no Retry-After). What comes back undecided (a 503 body) ' +
      `is asked again in passes, as the precheck CLI retries: ${RETRIES} more times at most, after ` +
      `${RETRY_BASE_MS / 1000} s, doubling. Wall ends when the last user is decided or the retries ran out; ` +
      'decisions/s is decided users over it. "613" and "Meta requests" are counted at the simulator\'s door ' +
      '(retries and the live checks each count); "queue full" is the gate\'s ' +
      '`consent_gate_upstream_budget_rejections_total`; "circuit opened" counts its breaker log lines. Live: a cold ' +
      `GET /can-call every ${LIVE_INTERVAL_MS} ms during the run; on the quiet gates before, p50 ` +
      `${ms(quantile(quiet, 0.5))}, p99 ${ms(quantile(quiet, 0.99))} (${quiet.length} checks). One user per ` +
      `request: at the first row's rate 100,000 leads take ${judged ? minutes(rate(judged)) : 'n/a'} min per Meta ` +
      `app; Meta's ${META_MAX_RPS}/s alone would allow ${minutes(META_MAX_RPS)} min at best.` +
      `${quick ? ' Quick run: too short to judge.' : ''}`,
  ].join('\n')
  return {
    title: '',
    markdown,
    targets: [
      {
        scenario: 'meta campaign',
        target: 'decisions/s >= 90 % of UPSTREAM_MAX_RPS (50), 1 batch request at a time',
        measured: judged ? `${int(rate(judged))}/s (${pct(rate(judged) / judged.variant.maxRps)})` : 'n/a',
        met: quick || !judged ? null : rate(judged) >= 0.9 * judged.variant.maxRps && judged.undecided === 0,
      },
      {
        scenario: 'meta campaign',
        target: 'no 613 during a campaign start',
        measured: int(all613),
        met: all613 === 0,
      },
    ],
  }
}
