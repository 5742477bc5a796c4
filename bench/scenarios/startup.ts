import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import readline from 'node:readline'
import { request } from 'undici'
import { GATE_ENTRY, ensureBuilt } from '../lib/build.js'
import { ms, ratio, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { startSim } from '../lib/servers.js'
import { median } from '../lib/stats.js'

const TARGET_MS = 300

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
}

/**
 * 5. Start-up: from spawning the bundle (what `npm start` and the container run) to the first 200 from /readyz,
 * median of 5, against the unbundled build and a bare Fastify server started the same way.
 */
export async function startup(ctx: ScenarioContext): Promise<ScenarioReport> {
  const runs = ctx.quick ? 3 : 5
  ensureBuilt(ctx.log)
  const sim = await startSim()
  const env = { KALEYRA_SID: sim.sid, KALEYRA_API_KEY: sim.apiKey, KALEYRA_BASE_URL: sim.url, PORT: '0' }
  const gate: Start[] = []
  const unbundled: Start[] = []
  const bare: Start[] = []
  const empty: number[] = []
  try {
    // Alternated, so a busy moment of the machine hits all alike.
    for (let i = 0; i < runs; i++) {
      gate.push(await start([GATE_ENTRY], env))
      unbundled.push(await start(['dist/server.js'], env))
      bare.push(await start(['--input-type=module', '--eval', BARE_FASTIFY], {}))
      empty.push(emptyNode())
    }
  } finally {
    await sim.stop()
  }
  const med = (xs: Start[], f: (s: Start) => number) => median(xs.map(f))
  const gateReady = med(gate, (s) => s.readyMs)
  const bareReady = med(bare, (s) => s.readyMs)
  const markdown = [
    table(
      ['process', 'to "listening" (median)', 'to /readyz 200 (median)', 'runs (ms)'],
      [
        [
          `\`node ${GATE_ENTRY}\` (the gate, as \`npm start\`)`,
          ms(med(gate, (s) => s.listeningMs)),
          ms(gateReady),
          listRuns(gate),
        ],
        [
          '`node dist/server.js` (the same, unbundled: tsc output)',
          ms(med(unbundled, (s) => s.listeningMs)),
          ms(med(unbundled, (s) => s.readyMs)),
          listRuns(unbundled),
        ],
        ['bare Fastify (`node --eval`)', ms(med(bare, (s) => s.listeningMs)), ms(bareReady), listRuns(bare)],
        ['`node --eval 0` (empty process)', '', ms(median(empty)), empty.map((v) => v.toFixed(0)).join(', ')],
      ],
    ),
    '',
    `gate / bare Fastify: ${ratio(gateReady / bareReady)}. Each run spawns node, reads its stdout for pino's ` +
      '"Server listening at" line, then polls /readyz every 2 ms. Built first with `npm run build` (not timed).',
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
    ],
  }
}

const listRuns = (xs: Start[]) => xs.map((s) => s.readyMs.toFixed(0)).join(', ')

async function start(args: string[], env: Record<string, string>): Promise<Start> {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const url = await listeningUrl(child.stdout)
    const listeningMs = performance.now() - t0
    for (;;) {
      const res = await request(`${url}/readyz`).catch(() => undefined)
      await res?.body.dump()
      if (res?.statusCode === 200) return { listeningMs, readyMs: performance.now() - t0 }
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
  } finally {
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
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
