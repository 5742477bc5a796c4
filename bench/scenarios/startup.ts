import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import readline from 'node:readline'
import { request } from 'undici'
import { GATE_ENTRY, ensureBuilt } from '../lib/build.js'
import { ms, ratio, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { startSim } from '../lib/servers.js'
import { median } from '../lib/stats.js'

const TARGET_MS = 300
/** Issue 16: the gate starts in at most 1.3 times what a bare Fastify server takes, started the same way. */
const TARGET_RATIO = 1.3

/** The smallest Fastify server answering a readiness probe: the floor any Fastify service starts from. */
const BARE_FASTIFY = `
import Fastify from 'fastify'
const app = Fastify({ logger: true })
app.get('/readyz', async () => ({ status: 'ready' }))
await app.listen({ host: '127.0.0.1', port: 0 })
`

interface Start {
  /** Spawn to the "Server listening at" log line. */
  listeningMs: number
  /** Spawn to the first 200 from /readyz. */
  readyMs: number
  /** CPU time of all the process's threads up to that 200 (Linux), NaN elsewhere. */
  cpuMs: number
}

interface Variant {
  label: string
  args: string[]
  env: Record<string, string>
  runs: Start[]
}

/**
 * 5. Start-up: from spawning the bundle (what the image runs, from the code cache the build filled; `npm start` runs it
 * through scripts/start.mjs) to the first 200 from /readyz, median of 5, against the same bundle without the cache,
 * the unbundled build and a bare Fastify server started the same way.
 */
export async function startup(ctx: ScenarioContext): Promise<ScenarioReport> {
  const runs = ctx.quick ? 3 : 5
  ensureBuilt(ctx.log)
  const sim = await startSim()
  const gateEnv = { KALEYRA_SID: sim.sid, KALEYRA_API_KEY: sim.apiKey, KALEYRA_BASE_URL: sim.url, PORT: '0' }
  const variant = (label: string, args: string[], env: Record<string, string> = gateEnv): Variant => ({
    label,
    args,
    env,
    runs: [],
  })
  const gate = variant(`\`node ${GATE_ENTRY}\` (the gate, as the image runs it)`, [GATE_ENTRY])
  const npmStart = variant('`node scripts/start.mjs` (`npm start`: stamp checked, up to date)', [
    'scripts/start.mjs',
  ])
  const unbundled = variant('`node dist/server.js` (the same, unbundled: tsc output)', ['dist/server.js'])
  const bare = variant('bare Fastify (`node --eval`)', ['--input-type=module', '--eval', BARE_FASTIFY], {})
  // The same bundle run by Node's own loader: what a first start costs, or one whose code cache V8 refused.
  const uncached = variant('`node dist/bundle/gate.cjs` (the same bundle, no code cache: a first start)', [
    'dist/bundle/gate.cjs',
  ])
  const variants = [gate, npmStart, uncached, unbundled, bare]
  const empty: number[] = []
  try {
    // Alternated, so a busy moment of the machine hits all alike.
    for (let i = 0; i < runs; i++) {
      for (const v of variants) v.runs.push(await start(v))
      empty.push(emptyNode())
    }
  } finally {
    await sim.stop()
  }
  const med = (v: Variant, f: (s: Start) => number) => median(v.runs.map(f))
  const gateReady = med(gate, (s) => s.readyMs)
  const bareReady = med(bare, (s) => s.readyMs)
  const row = (v: Variant) => [
    v.label,
    ms(med(v, (s) => s.listeningMs)),
    ms(med(v, (s) => s.readyMs)),
    ms(med(v, (s) => s.cpuMs)),
    ratio(med(v, (s) => s.readyMs) / bareReady),
    v.runs.map((s) => s.readyMs.toFixed(0)).join(', '),
  ]
  const markdown = [
    table(
      [
        'process',
        'to "listening" (median)',
        'to /readyz 200 (median)',
        'CPU to 200 (median)',
        '/ bare',
        'runs (ms)',
      ],
      [
        ...variants.map(row),
        [
          '`node --eval 0` (empty process)',
          '',
          ms(median(empty)),
          '',
          '',
          empty.map((v) => v.toFixed(0)).join(', '),
        ],
      ],
    ),
    '',
    `gate / bare Fastify: ${ratio(gateReady / bareReady)}. Each run spawns node, reads its stdout for pino's ` +
      '"Server listening at" line, then polls /readyz every 2 ms; CPU is all the threads\' time up to that 200 ' +
      '(the steadiest figure on a busy machine). Built first with `npm run build` (not timed), which fills the ' +
      'code cache the gate starts from (`dist/bundle/gate.cjs.v8-cache`, src/code-cache.ts).',
  ].join('\n')
  return {
    title: '5. Start-up',
    markdown,
    targets: [
      {
        scenario: 'start-up',
        target: `to /readyz 200 <= ${TARGET_MS} ms (median of ${runs})`,
        measured: ms(gateReady),
        met: gateReady <= TARGET_MS,
      },
      {
        scenario: 'start-up',
        target: `to /readyz 200 gate/bare Fastify <= ${TARGET_RATIO}`,
        measured: `${ratio(gateReady / bareReady)} (${ms(gateReady)} / ${ms(bareReady)})`,
        met: gateReady / bareReady <= TARGET_RATIO,
      },
    ],
  }
}

async function start(v: Variant): Promise<Start> {
  const t0 = performance.now()
  const child = spawn(process.execPath, v.args, {
    env: { ...process.env, ...v.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const url = await listeningUrl(child.stdout)
    const listeningMs = performance.now() - t0
    for (;;) {
      const res = await request(`${url}/readyz`).catch(() => undefined)
      await res?.body.dump()
      if (res?.statusCode === 200)
        return { listeningMs, readyMs: performance.now() - t0, cpuMs: cpuMs(child.pid) }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  } finally {
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
}

/** The CPU time of every thread of a live process, from /proc/<pid>/task/<tid>/schedstat (nanoseconds on CPU). */
function cpuMs(pid: number | undefined): number {
  const tasks = `/proc/${pid}/task`
  if (pid === undefined || !existsSync(tasks)) return NaN
  let ns = 0
  for (const tid of readdirSync(tasks)) {
    try {
      ns += Number(readFileSync(`${tasks}/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e6
}

async function listeningUrl(stdout: NodeJS.ReadableStream): Promise<string> {
  for await (const line of readline.createInterface({ input: stdout })) {
    const url = /Server listening at (http:\/\/[^"\s]+)/.exec(line)?.[1]
    if (url) {
      // Keep draining, so a chatty server never blocks on a full pipe.
      stdout.resume()
      return url
    }
  }
  throw new Error('the server exited before listening')
}

function emptyNode(): number {
  const t0 = performance.now()
  execFileSync(process.execPath, ['--eval', '0'])
  return performance.now() - t0
}
