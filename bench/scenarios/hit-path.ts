import fs from 'node:fs'
import path from 'node:path'
import { requestsFile } from '../lib/cpuprofile.js'
import { consentsFor, businessFor, pairPath, userNumber } from '../lib/fixtures.js'
import { count, runLoad, type LoadResult } from '../lib/load.js'
import { int, ms, pct, ratio, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { delta, scrape } from '../lib/scrape.js'
import { countLogLines, startServer, startSim, warm, type Server } from '../lib/servers.js'
import { cpuShare, median } from '../lib/stats.js'

const CONNECTIONS = 100
/**
 * CPU time (µs) added to the bare route's requests after the A/B rounds: how much of the ratio a microsecond of
 * work costs on this machine, where the load generator shares the two cores (bench/README.md, hit path).
 */
const BUSY_US = [4, 8] as const

interface Round {
  round: number
  kind: 'gate' | 'bare'
  /** Bare rounds with work added per request (BUSY_US); 0 for the A/B rounds. */
  busyUs?: number
  load: LoadResult
  serverCpu: number
  hitRatio?: number
}

/**
 * 1. Hit path: the gate with production defaults and 10,000 warm pairs against a bare Fastify route, each in
 * its own child process, driven by autocannon in this process with the same connections and duration,
 * alternately (A/B then B/A) so drift on a noisy machine hits both alike. Each round starts both servers afresh:
 * a process keeps its luck (core placement, heap layout, JIT) for its life, and on this machine that moved the
 * ratio of the same code by up to 0.2 between processes (bench/README.md, hit path, third pass).
 */
export async function hitPath(ctx: ScenarioContext): Promise<ScenarioReport> {
  const pairCount = ctx.quick ? 2000 : 10_000
  const durationS = ctx.quick ? 2 : 10
  const rounds = ctx.quick ? 1 : 5
  const sim = await startSim()
  await sim.seed(consentsFor(0, pairCount, Date.now()))
  const pairs = Array.from({ length: pairCount }, (_, i) => [businessFor(i), userNumber(i)] as const)
  const paths = Array.from({ length: pairCount }, (_, i) => pairPath(i))
  const results: Round[] = []
  let decisionLines = 0
  try {
    for (let r = 1; r <= rounds; r++) {
      const logFile = path.join(ctx.outDir, `hit-path-gate-${r}.log`)
      // Production defaults but for the upstream rate budget, which no hit touches: under its 50 requests/s,
      // warming 10,000 pairs takes minutes (see README).
      const gate = await startServer('gate', sim, { logFile, env: { UPSTREAM_MAX_RPS: '0' } })
      const bare = await startServer('bare', null)
      try {
        await warm(gate.url, pairs)
        ctx.log(`hit path round ${r}: fresh servers, ${pairCount} pairs warmed; JIT warm-up`)
        for (const server of [gate, bare]) await measure(server, 0, ctx.quick ? 1 : 3)
        const order = r % 2 ? [gate, bare] : [bare, gate]
        for (const server of order) results.push(await measure(server, r, durationS))
      } finally {
        await Promise.all([gate.stop(), bare.stop()])
      }
      decisionLines += await countLogLines(logFile, 'decision')
    }
    for (const busyUs of BUSY_US) {
      const busy = await startServer('bare', null, { busyUs })
      try {
        await measure(busy, 0, ctx.quick ? 1 : 2)
        results.push({ ...(await measure(busy, rounds + 1, durationS, `bare + ${busyUs} µs`)), busyUs })
      } finally {
        await busy.stop()
      }
    }
  } finally {
    await sim.stop()
  }
  return summarize(results, { durationS, decisionLines, pairCount })

  async function measure(
    server: Server,
    round: number,
    seconds: number,
    label: string = server.kind,
  ): Promise<Round> {
    // Denies live 30 s (CACHE_NEGATIVE_TTL_SECONDS): re-warm so every round is all hits.
    if (server.kind === 'gate') await warm(server.url, pairs)
    const before = await server.stats()
    const metrics = server.kind === 'gate' ? await scrape(server.url) : undefined
    // BENCH_CPU_PROF=1: profile each measured round (bench/out/profiles/, read with bench/profile.ts).
    const profile = process.env.BENCH_CPU_PROF && round > 0
    if (profile) await server.child.call('profileStart')
    const load = await runLoad({
      url: server.url,
      connections: CONNECTIONS,
      durationS: seconds,
      paths,
    })
    const after = await server.stats()
    if (profile) {
      fs.mkdirSync(path.join(ctx.outDir, 'profiles'), { recursive: true })
      const file = path.join(ctx.outDir, 'profiles', `hit-${server.kind}-round${round}.cpuprofile`)
      await server.child.call('profileStop', file)
      fs.writeFileSync(requestsFile(file), JSON.stringify({ requests: count(load.statuses, 200) }))
    }
    const result: Round = {
      round,
      kind: server.kind,
      load,
      serverCpu: cpuShare(before.cpu, after.cpu, load.wallMs),
    }
    if (metrics) {
      const now = await scrape(server.url)
      const hits = delta(metrics, now, 'consent_gate_cache_lookups_total', 'result="hit"')
      result.hitRatio = hits / delta(metrics, now, 'consent_gate_cache_lookups_total')
    }
    if (round > 0) {
      ctx.log(`hit path round ${round} ${label}: ${int(load.rps)} req/s, p99 ${ms(load.p99)}`)
    }
    return result
  }
}

/** Server CPU time per response: robust to a saturated load generator or a busy machine. */
const cpuPerRequestUs = (r: Round) => (r.serverCpu * r.load.wallMs * 1000) / r.load.responses

function summarize(
  all: Round[],
  info: { durationS: number; decisionLines: number; pairCount: number },
): ScenarioReport {
  const results = all.filter((r) => r.busyUs === undefined)
  const busy = all.filter((r) => r.busyUs !== undefined)
  const rounds = [...new Set(results.map((r) => r.round))]
  const pick = (round: number, kind: 'gate' | 'bare') =>
    results.find((r) => r.round === round && r.kind === kind)
  const ratios = rounds.map((r) => (pick(r, 'gate')?.load.rps ?? NaN) / (pick(r, 'bare')?.load.rps ?? NaN))
  const p99s = rounds.map((r) => (pick(r, 'gate')?.load.p99 ?? NaN) / (pick(r, 'bare')?.load.p99 ?? NaN))
  const med = (kind: 'gate' | 'bare', f: (r: Round) => number) =>
    median(results.filter((r) => r.kind === kind).map(f))
  const rps = { gate: med('gate', (r) => r.load.rps), bare: med('bare', (r) => r.load.rps) }
  const rpsRatio = median(ratios)
  const p99Ratio = median(p99s)
  const gateResponses = results.filter((r) => r.kind === 'gate').reduce((s, r) => s + r.load.responses, 0)

  const perRound = table(
    [
      'round',
      'server',
      'req/s',
      'p50',
      'p99',
      'non-2xx',
      'server CPU',
      'server CPU/request',
      'autocannon CPU',
      'other CPU',
      'cache hits',
    ],
    results.map((r) => [
      r.round,
      r.kind,
      int(r.load.rps),
      ms(r.load.p50),
      ms(r.load.p99),
      r.load.responses - count(r.load.statuses, 200) + r.load.errors,
      pct(r.serverCpu),
      `${int(cpuPerRequestUs(r))} µs`,
      pct(r.load.loadgenCpu),
      pct(Math.max(0, r.load.machineCpu - r.serverCpu - r.load.loadgenCpu)),
      r.hitRatio === undefined ? '' : pct(r.hitRatio),
    ]),
  )
  const summary = table(
    ['', 'gate', 'bare', 'gate/bare (median of rounds)', 'target'],
    [
      ['req/s', int(rps.gate), int(rps.bare), ratio(rpsRatio), '>= 0.80'],
      [
        'p50',
        ms(med('gate', (r) => r.load.p50)),
        ms(med('bare', (r) => r.load.p50)),
        ratio(
          median(rounds.map((r) => (pick(r, 'gate')?.load.p50 ?? NaN) / (pick(r, 'bare')?.load.p50 ?? NaN))),
        ),
        '',
      ],
      [
        'p99',
        ms(med('gate', (r) => r.load.p99)),
        ms(med('bare', (r) => r.load.p99)),
        ratio(p99Ratio),
        '<= 1.25',
      ],
    ],
  )
  const shed = results.reduce((s, r) => s + count(r.load.statuses, 503), 0)
  const markdown = [
    summary,
    '',
    `${CONNECTIONS} connections, ${info.durationS} s per round; each round starts a fresh gate and a fresh bare server ` +
      "(warmed, then a JIT warm-up not counted), so no process's luck carries across rounds. " +
      'The gate runs production defaults (decision log at info into a file) but `UPSTREAM_MAX_RPS=0`: no hit ' +
      'touches the upstream budget, which only paces the warming. The bare baseline is Fastify with logging off ' +
      'and one route returning a constant decision-sized body. ' +
      `Requests cycle over ${info.pairCount.toLocaleString('en-US')} warm pairs. 503 (shed) answers: ${shed}. ` +
      `Decision log lines written: ${info.decisionLines.toLocaleString('en-US')} for ` +
      `${gateResponses.toLocaleString('en-US')} gate responses (plus warm-up batches).`,
    '',
    perRound,
    '',
    'The same bare route with CPU work added to each request (a busy loop), one round each after the rounds above: ' +
      'what a microsecond of work per request costs the ratio on this machine, where the load generator shares ' +
      'the two cores.',
    '',
    table(
      ['bare route', 'req/s', '/ bare (median)', 'server CPU/request', 'p99', '/ bare p99 (median)'],
      busy.map((r) => [
        `+ ${r.busyUs} µs of work`,
        int(r.load.rps),
        ratio(r.load.rps / rps.bare),
        `${int(cpuPerRequestUs(r))} µs`,
        ms(r.load.p99),
        ratio(r.load.p99 / med('bare', (b) => b.load.p99)),
      ]),
    ),
  ].join('\n')
  return {
    title: '1. Hit path',
    markdown,
    targets: [
      {
        scenario: 'hit path',
        target: 'req/s gate/bare >= 0.80',
        measured: ratio(rpsRatio),
        met: rpsRatio >= 0.8,
      },
      {
        scenario: 'hit path',
        target: 'p99 gate/bare <= 1.25',
        measured: ratio(p99Ratio),
        met: p99Ratio <= 1.25,
      },
    ],
  }
}
