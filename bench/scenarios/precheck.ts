import { spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { build } from 'esbuild'
import { request } from 'undici'
import { BUSINESSES, businessFor, canCallPath, consentFor, userNumber } from '../lib/fixtures.js'
import { int, mib, ms, pct, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { startServer, startSim } from '../lib/servers.js'
import { percentile } from '../lib/stats.js'

const UPSTREAM_LATENCY_MS = 50
/** The physical limit with the gate's defaults: UPSTREAM_MAX_RPS x BATCH_MAX_USERS (issue 14). */
const LIMIT_PER_S = 50 * 25
/** Live cold checks a second during the run: a dialer's trickle, ~2 % of the Kaleyra budget it shares. */
const LIVE_PER_S = 1
/** Rows Kaleyra holds a grant for: the simulator scans its whole store per request, so it stays small. */
const SEEDED = 2000

/** Reports the child's peak RSS and CPU as its last stderr line, however it exits. */
const PRELOAD =
  'data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();' +
  'process.stderr.write("\\nbench-usage "+JSON.stringify({maxRssKb:u.maxRSS,cpuUs:u.userCPUTime+u.systemCPUTime})+"\\n")})'

interface CliRun {
  rows: number
  wallMs: number
  maxRssBytes: number
  cpuUs: number
  code: number | null
  stderr: string
}

/**
 * 8. Campaign pre-check: `consent-gate precheck` of a CSV of 100,000 cold rows over 2 businesses, against a gate
 * with default budgets and a simulator answering in 50 ms. Decisions/s against the physical limit, the CLI's peak
 * RSS (against a run a tenth the size: flat means streaming), and live cold checks' p99 during the run.
 */
export async function precheck(ctx: ScenarioContext): Promise<ScenarioReport> {
  const rows = ctx.quick ? 5_000 : 100_000
  const small = rows / 10
  const cli = await bundleCli(ctx.outDir)
  const sim = await startSim()
  const gate = await startServer('gate', sim, { logFile: path.join(ctx.outDir, 'precheck-gate.log') })
  try {
    await sim.setLatency(UPSTREAM_LATENCY_MS)
    const now = Date.now()
    // Users 20,000,000 on: no other scenario's; grants for a few so the output is not all no_consent.
    const first = 20_000_000
    await sim.seed(Array.from({ length: SEEDED }, (_, k) => consentFor(first + k * 7, now)))
    const quiet = await liveProbe(gate.url, first + 5_000_000, ctx.quick ? 6 : 30, async () => undefined)
    const smallRun = await runCli(
      ctx,
      cli,
      gate.url,
      writeInput(ctx.outDir, 'small', first + 3_000_000, small),
    )
    await sim.takeRequestCount()
    const input = writeInput(ctx.outDir, 'large', first, rows)
    let bigRun: CliRun | undefined
    const during = await liveProbe(gate.url, first + 6_000_000, Infinity, async (stop) => {
      bigRun = await runCli(ctx, cli, gate.url, input)
      stop()
    })
    const upstream = await sim.takeRequestCount()
    const run = bigRun!
    ctx.log(`precheck: ${int(run.rows)} rows in ${ms(run.wallMs)}, exit ${run.code}`)
    return report(run, smallRun, upstream, quiet, during, ctx.quick)
  } finally {
    await gate.stop()
    await sim.stop()
  }
}

/** The CLI as one file of its own: the bench measures it without a TypeScript loader in its RSS. */
async function bundleCli(outDir: string): Promise<string> {
  const outfile = path.join(outDir, 'cli', 'consent-gate.mjs')
  await build({
    entryPoints: ['src/cli/main.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  })
  return outfile
}

function writeInput(outDir: string, name: string, first: number, rows: number): string {
  const file = path.join(outDir, `precheck-${name}.csv`)
  const lines = ['lead_id,business,user']
  for (let i = 0; i < rows; i++) lines.push(`L${i},${businessFor(i)},${userNumber(first + i)}`)
  fs.writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

async function runCli(ctx: ScenarioContext, cli: string, gateUrl: string, input: string): Promise<CliRun> {
  const out = input.replace(/\.csv$/, '.out.csv')
  fs.rmSync(out, { force: true })
  const started = performance.now()
  const child = spawn(process.execPath, [`--import=${PRELOAD}`, cli, 'precheck', input, '--out', out], {
    env: { ...process.env, CONSENT_GATE_URL: gateUrl },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  const wallMs = performance.now() - started
  const usage = /bench-usage (\{.*\})/.exec(stderr)?.[1]
  const { maxRssKb, cpuUs } = usage
    ? (JSON.parse(usage) as { maxRssKb: number; cpuUs: number })
    : { maxRssKb: NaN, cpuUs: NaN }
  const total = Number(/^total\s+([\d,]+)/m.exec(stderr)?.[1]?.replace(/,/g, '') ?? NaN)
  if (code !== 0) ctx.log(`precheck exited ${code}: ${stderr.slice(-500)}`)
  return { rows: total, wallMs, maxRssBytes: maxRssKb * 1024, cpuUs, code, stderr }
}

/**
 * GET /can-call for a cold user every 1/LIVE_PER_S s (a dialer's live question while the campaign runs), until
 * `count` are asked or `work` calls stop(). Latencies in ms of the 200s, and the count of other answers.
 */
async function liveProbe(
  url: string,
  firstUser: number,
  count: number,
  work: (stop: () => void) => Promise<void>,
): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = []
  let failed = 0
  let stopped = false
  const working = work(() => (stopped = true))
  for (let i = 0; i < count && !(stopped && count === Infinity); i++) {
    const t0 = performance.now()
    const res = await request(`${url}${canCallPath(BUSINESSES[i % 2]!, userNumber(firstUser + i))}`)
    await res.body.dump()
    if (res.statusCode === 200) latencies.push(performance.now() - t0)
    else failed++
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 / LIVE_PER_S - (performance.now() - t0))))
  }
  await working
  return { latencies, failed }
}

function report(
  run: CliRun,
  smallRun: CliRun,
  upstream: number,
  quiet: { latencies: number[] },
  during: { latencies: number[]; failed: number },
  quick: boolean,
): ScenarioReport {
  const rate = run.rows / (run.wallMs / 1000)
  const share = rate / LIMIT_PER_S
  const p99 = (l: number[]) => percentile(Float64Array.from(l).sort(), 0.99)
  const rssGrowth = run.maxRssBytes / smallRun.maxRssBytes
  const markdown = [
    table(
      [
        'rows',
        'wall',
        'decisions/s',
        'of 1,250/s',
        'CLI peak RSS',
        'CLI CPU/row',
        'upstream requests',
        'users/request',
        'exit',
      ],
      [
        [
          int(smallRun.rows),
          ms(smallRun.wallMs),
          int(smallRun.rows / (smallRun.wallMs / 1000)),
          pct(smallRun.rows / (smallRun.wallMs / 1000) / LIMIT_PER_S),
          mib(smallRun.maxRssBytes),
          `${(smallRun.cpuUs / smallRun.rows).toFixed(1)} µs`,
          '',
          '',
          String(smallRun.code),
        ],
        [
          int(run.rows),
          ms(run.wallMs),
          int(rate),
          pct(share),
          mib(run.maxRssBytes),
          `${(run.cpuUs / run.rows).toFixed(1)} µs`,
          int(upstream),
          (run.rows / upstream).toFixed(1),
          String(run.code),
        ],
      ],
    ),
    '',
    table(
      ['live cold GET /can-call', 'checks', 'p50', 'p99', 'not 200'],
      [
        [
          'quiet gate, before',
          String(quiet.latencies.length),
          ms(percentile(Float64Array.from(quiet.latencies).sort(), 0.5)),
          ms(p99(quiet.latencies)),
          '0',
        ],
        [
          'during the pre-check',
          String(during.latencies.length),
          ms(percentile(Float64Array.from(during.latencies).sort(), 0.5)),
          ms(p99(during.latencies)),
          String(during.failed),
        ],
      ],
    ),
    '',
    `A CSV of ${int(run.rows)} rows over 2 businesses (${int(SEEDED)} of them granted, the rest no_consent), all cold, ` +
      `through the bundled CLI (\`precheck --out\`, default --concurrency 4) against one gate with default ` +
      `budgets (UPSTREAM_MAX_RPS 50, BATCH_MAX_USERS 25: at most ${int(LIMIT_PER_S)} decisions/s) and a simulator ` +
      `answering in ${UPSTREAM_LATENCY_MS} ms. Wall time is the CLI process's, start-up included. The first row is ` +
      `a run a tenth the size: peak RSS flat between the two shows the CLI streams. Live checks: ${LIVE_PER_S}/s, ` +
      `each a user never asked before.${quick ? ' Quick run: too short to judge.' : ''}`,
  ].join('\n')
  return {
    title: '8. Campaign pre-check (consent-gate precheck)',
    markdown,
    targets: [
      {
        scenario: 'precheck',
        target: `decisions/s >= 90 % of ${int(LIMIT_PER_S)}/s`,
        measured: `${int(rate)}/s (${pct(share)})`,
        met: quick ? null : share >= 0.9 && run.code === 0,
      },
      {
        scenario: 'precheck',
        target: 'CLI peak RSS flat in the file size (100k rows <= 1.25 x 10k rows)',
        measured: `${mib(run.maxRssBytes)} vs ${mib(smallRun.maxRssBytes)}`,
        met: quick ? null : rssGrowth <= 1.25,
      },
      {
        scenario: 'precheck',
        target: 'live cold p99 during the pre-check (informational)',
        measured: `${ms(p99(during.latencies))} (quiet: ${ms(p99(quiet.latencies))})`,
        met: null,
      },
    ],
  }
}
