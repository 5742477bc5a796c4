import path from 'node:path'
import { Client } from 'undici'
import { BUSINESSES, canCallPath, consentFor, userNumber } from '../lib/fixtures.js'
import { machineBusyMs } from '../lib/machine.js'
import { int, ms, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { startServer, startSim, type Server, type Sim } from '../lib/servers.js'
import { cpuShare, median, percentile } from '../lib/stats.js'

const BURST_USERS = 100
const BURST_LATENCY_MS = 100
const BURST_ROUNDS = 5
/** What a cold burst may cost: ceil(100 / 25) = 4 requests, and two to spare for a spread the window misses. */
const BURST_MAX_REQUESTS = 6

interface BurstVariant {
  name: string
  env: Record<string, string>
  /** The variants the burst targets are judged on. */
  judged?: boolean
}

/**
 * The gate with its production defaults (budget included), the decision log written to a file. "Before" is the
 * fixed 2 ms window of earlier versions: a maximum wait equal to the window never extends it.
 */
const BURST_VARIANTS: BurstVariant[] = [
  { name: 'before: fixed 2 ms window (BATCH_MAX_WAIT_MS=2)', env: { BATCH_MAX_WAIT_MS: '2' } },
  {
    name: 'before: fixed 2 ms window, LOG_LEVEL=debug',
    env: { BATCH_MAX_WAIT_MS: '2', LOG_LEVEL: 'debug' },
  },
  { name: 'after: extending window (defaults)', env: {}, judged: true },
  { name: 'after: extending window, LOG_LEVEL=debug', env: { LOG_LEVEL: 'debug' }, judged: true },
]

interface BurstRun {
  upstream: number
  ok: number
  /** From the connection being up (the request written) to the last byte, as autocannon times the sustained runs. */
  p50: number
  p99: number
  /** From asking for the connection: what a dialer with no connection open waits. */
  p99WithConnect: number
  upstreamP99: number
  /** The gate's CPU per check, ms: steadier than times on a shared machine. */
  gateCpuMs: number
  /** Cores the whole machine kept busy during the round (ours and anyone else's). */
  machineCores: number
}

/**
 * 2b. Cold burst, the second half of scenario 2 (cold-path.ts): 100 checks of distinct cold users of one business at once, each over a connection of its own
 * (a dialer starting a campaign), against a simulator answering in 100 ms. Their arrivals spread over the
 * connection set-ups, more than one 2 ms window; the batching window should still fold them into few requests.
 */
export async function coldBurst(ctx: ScenarioContext): Promise<ScenarioReport> {
  const rounds = ctx.quick ? 1 : BURST_ROUNDS
  // --quick keeps the scripts working in a few seconds: the judged variants only, one round each.
  const variants = ctx.quick ? BURST_VARIANTS.filter((v) => v.judged) : BURST_VARIANTS
  const sim = await startSim()
  const runs = new Map<BurstVariant, BurstRun[]>()
  let next = 1_000_000
  try {
    await sim.setLatency(BURST_LATENCY_MS)
    for (const variant of variants) {
      const gate = await startServer('gate', sim, {
        env: variant.env,
        logFile: path.join(ctx.outDir, 'cold-burst-gate.log'),
      })
      const mine: BurstRun[] = []
      try {
        // One discarded round warms the JIT and the gate's connections to the simulator.
        if (!ctx.quick) await burstOnce(sim, gate, (next += BURST_USERS))
        for (let round = 0; round < rounds; round++)
          mine.push(await burstOnce(sim, gate, (next += BURST_USERS)))
      } finally {
        await gate.stop()
      }
      runs.set(variant, mine)
      ctx.log(`cold burst ${variant.name}: ${mine.map((r) => r.upstream).join(', ')} upstream requests`)
    }
  } finally {
    await sim.stop()
  }
  return summarizeBurst(runs, rounds)
}

async function burstOnce(sim: Sim, gate: Server, firstUser: number): Promise<BurstRun> {
  const business = BUSINESSES[0]
  await sim.clear()
  await sim.seed(
    Array.from({ length: BURST_USERS }, (_, k) => consentFor(firstUser + k, Date.now(), business)),
  )
  await sim.takeRequestCount()
  await sim.takeLatency()
  // A client per check: each opens its own connection, so the checks arrive as fresh connections do.
  const clients = Array.from({ length: BURST_USERS }, () => new Client(gate.url))
  let ok = 0
  const before = await gate.stats()
  const busy0 = machineBusyMs()
  const wall0 = performance.now()
  try {
    const times = await Promise.all(
      clients.map(async (client, k) => {
        const t0 = performance.now()
        let connected = t0
        client.once('connect', () => (connected = performance.now()))
        const res = await client.request({
          method: 'GET',
          path: canCallPath(business, userNumber(firstUser + k)),
        })
        await res.body.dump()
        if (res.statusCode === 200) ok++
        const t1 = performance.now()
        return { answered: t1 - connected, withConnect: t1 - t0 }
      }),
    )
    const machineCores = (machineBusyMs() - busy0) / (performance.now() - wall0)
    const after = await gate.stats()
    const answered = Float64Array.from(times.map((t) => t.answered)).sort()
    const withConnect = Float64Array.from(times.map((t) => t.withConnect)).sort()
    const upstream = await sim.takeRequestCount()
    const { p99: upstreamP99 } = await sim.takeLatency()
    return {
      upstream,
      ok,
      p50: percentile(answered, 0.5),
      p99: percentile(answered, 0.99),
      p99WithConnect: percentile(withConnect, 0.99),
      upstreamP99,
      gateCpuMs: cpuShare(before.cpu, after.cpu, 1) / BURST_USERS,
      machineCores,
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()))
  }
}

function summarizeBurst(runs: Map<BurstVariant, BurstRun[]>, rounds: number): ScenarioReport {
  const stat = (rs: BurstRun[], pick: (r: BurstRun) => number) => median(rs.map(pick))
  const rows = [...runs].map(([v, rs]) => [
    v.name,
    `${int(stat(rs, (r) => r.upstream))} (${rs.map((r) => r.upstream).join(', ')})`,
    int(stat(rs, (r) => BURST_USERS - r.ok)),
    ms(stat(rs, (r) => r.p50)),
    ms(stat(rs, (r) => r.p99)),
    ms(stat(rs, (r) => r.upstreamP99)),
    ms(stat(rs, (r) => r.p99 - r.upstreamP99)),
    ms(stat(rs, (r) => r.p99WithConnect)),
    ms(stat(rs, (r) => r.gateCpuMs)),
    stat(rs, (r) => r.machineCores).toFixed(1),
  ])
  const targets = [...runs]
    .filter(([v]) => v.judged)
    .flatMap(([v, rs]) => {
      const requests = stat(rs, (r) => r.upstream)
      const p99 = stat(rs, (r) => r.p99)
      const upstreamP99 = stat(rs, (r) => r.upstreamP99)
      return [
        {
          scenario: 'cold burst',
          target: `${v.name}: upstream requests <= ${BURST_MAX_REQUESTS} (median)`,
          measured: int(requests),
          met: requests <= BURST_MAX_REQUESTS,
        },
        {
          scenario: 'cold burst',
          target: `${v.name}: p99 <= upstream p99 + 25 ms`,
          measured: `${ms(p99)} vs ${ms(upstreamP99)} + 25 ms`,
          met: p99 <= upstreamP99 + 25,
        },
      ]
    })
  const markdown = [
    table(
      [
        'burst variant',
        'upstream requests (rounds)',
        'non-200',
        'p50',
        'p99',
        'upstream p99',
        'p99 - upstream p99',
        'p99 with connect',
        'gate CPU/check',
        'machine busy (cores)',
      ],
      rows,
    ),
    '',
    `Cold burst: ${BURST_USERS} distinct cold users of one business asked at once, each over a fresh connection ` +
      `(an undici Client per check; times from the connection being up, as the sustained runs above, and with its set-up), simulator latency ${BURST_LATENCY_MS} ms, ` +
      `the gate's production defaults; median of ${rounds} round(s)${rounds > 1 ? ' after one warm-up round' : ''}. ` +
      `Ideal: ${Math.ceil(BURST_USERS / 25)} requests (BATCH_MAX_USERS=25). "Upstream p99" is timed at the ` +
      "simulator's door. The decision log goes to a file in every variant.",
  ].join('\n')
  return { title: '2b. Cold burst', markdown, targets }
}
