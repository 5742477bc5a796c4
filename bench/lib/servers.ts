import { spawn } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import { request } from 'undici'
import type { SimConsent } from '../../src/simulator/simulator.js'
import { GATE_ENTRY } from './build.js'
import { startChild, type Child } from './rpc.js'
import type { ServerKind } from './server-child.js'

const SERVER_CHILD = new URL('./server-child.ts', import.meta.url)
const SIM_CHILD = new URL('./sim-child.ts', import.meta.url)

export interface ProcessStats {
  cpu: NodeJS.CpuUsage
  memory: NodeJS.MemoryUsage
}

export interface Sim {
  url: string
  sid: string
  apiKey: string
  /** Adds consents. The simulator scans every stored consent on each request: keep the store small. */
  seed(consents: SimConsent[]): Promise<void>
  clear(): Promise<void>
  setLatency(ms: number): Promise<void>
  /** Requests the simulator answered since the last call. */
  takeRequestCount(): Promise<number>
  /** Upstream latency (ms) at the simulator's door since the last call, its queueing included. */
  takeLatency(): Promise<{ count: number; p50: number; p99: number }>
  stats(): Promise<ProcessStats>
  stop(): Promise<void>
}

/** The Kaleyra simulator in its own process, as a remote Kaleyra would be. */
export async function startSim(opts: { failingBusiness?: string } = {}): Promise<Sim> {
  const child = startChild(SIM_CHILD)
  const info = await child.call<{ url: string; sid: string; apiKey: string }>('start', opts)
  return {
    ...info,
    async seed(consents) {
      for (let i = 0; i < consents.length; i += 5000) await child.call('seed', consents.slice(i, i + 5000))
    },
    clear: () => child.call('clear'),
    setLatency: (ms) => child.call('setLatency', ms),
    takeRequestCount: () => child.call('takeRequestCount'),
    takeLatency: () => child.call('takeLatency'),
    stats: () => child.call<ProcessStats>('stats'),
    stop: () => child.stop(),
  }
}

export interface Server {
  kind: ServerKind
  url: string
  pid: number
  child: Child
  stats(): Promise<ProcessStats>
  stop(): Promise<void>
}

export interface ServerOptions {
  /** Gate only: environment overrides on top of the simulator's credentials. */
  env?: Record<string, string>
  /** Gate only: the decision log goes here (the child's stdout); default /dev/null. */
  logFile?: string
  /** Extra node flags for the child, e.g. --cpu-prof. */
  nodeArgs?: string[]
  /** Bare only: CPU time (µs) its route spends per request before answering. */
  busyUs?: number
}

export async function startServer(
  kind: ServerKind,
  sim: Sim | null,
  opts: ServerOptions = {},
): Promise<Server> {
  let fd: number | undefined
  if (opts.logFile) {
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true })
    fd = fs.openSync(opts.logFile, 'w')
  }
  const child = startChild(SERVER_CHILD, { stdout: fd ?? 'ignore', nodeArgs: opts.nodeArgs })
  if (fd !== undefined) fs.closeSync(fd)
  const env = sim
    ? { KALEYRA_SID: sim.sid, KALEYRA_API_KEY: sim.apiKey, KALEYRA_BASE_URL: sim.url, ...opts.env }
    : {}
  const { url, pid } = await child.call<{ url: string; pid: number }>('start', kind, env, opts.busyUs ?? 0)
  return {
    kind,
    url,
    pid,
    child,
    stats: () => child.call<ProcessStats>('stats'),
    async stop() {
      await child.call('close').catch(() => undefined)
      await child.stop()
    },
  }
}

export interface BuiltGate {
  url: string
  pid: number
  stop(): Promise<void>
}

/**
 * The gate exactly as `npm start` runs it: the bundle of `npm run build` (build first), the decision log (stdout) in
 * `logFile`, port 0. Its address is read from pino's "Server listening at" line.
 */
export async function startBuiltGate(
  sim: Sim,
  env: Record<string, string>,
  logFile: string,
): Promise<BuiltGate> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true })
  const fd = fs.openSync(logFile, 'w')
  const child = spawn(process.execPath, [GATE_ENTRY], {
    env: {
      ...process.env,
      KALEYRA_SID: sim.sid,
      KALEYRA_API_KEY: sim.apiKey,
      KALEYRA_BASE_URL: sim.url,
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', fd, 'inherit'],
  })
  fs.closeSync(fd)
  // Unlike the forked children it has no IPC channel to notice a crashed parent.
  const orphan = () => child.kill('SIGKILL')
  process.once('exit', orphan)
  const exited = once(child, 'exit').finally(() => process.off('exit', orphan))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  for (let waited = 0; waited < 30_000; waited += 20) {
    const url = /Server listening at (http:\/\/[^"\s]+)/.exec(fs.readFileSync(logFile, 'utf8'))?.[1]
    if (url) return { url, pid: child.pid ?? 0, stop }
    if (child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await stop()
  throw new Error(`${GATE_ENTRY} did not start; see ${logFile}`)
}

/**
 * Asks the gate about every pair through POST /can-call/batch (1000 a request) until all are cached. A few
 * requests go at once: the route answers 100 checks of a request at a time, and one request alone feeds the
 * micro-batcher a trickle (a few users per Kaleyra request, paced by the default 50/s budget). Checks the
 * budget turned away (503) are asked again in the next pass.
 */
export async function warm(url: string, pairs: readonly (readonly [string, string])[]): Promise<void> {
  let todo = pairs.map(([business, user]) => ({ business, user }))
  for (let pass = 0; pass < 10 && todo.length > 0; pass++) {
    const failed: typeof todo = []
    const chunks: (typeof todo)[] = []
    for (let i = 0; i < todo.length; i += 1000) chunks.push(todo.slice(i, i + 1000))
    for (let i = 0; i < chunks.length; i += WARM_PARALLEL) {
      await Promise.all(
        chunks.slice(i, i + WARM_PARALLEL).map(async (checks) => {
          const res = await request(`${url}/can-call/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ checks }),
          })
          const body = (await res.body.json()) as { results: { reason: string }[] }
          if (res.statusCode !== 200) throw new Error(`warming failed: HTTP ${res.statusCode}`)
          body.results.forEach((r, k) => {
            const check = checks[k]
            if (check && (r.reason.startsWith('upstream') || r.reason === 'overloaded')) failed.push(check)
          })
        }),
      )
    }
    todo = failed
  }
  if (todo.length > 0) throw new Error(`warming failed: ${todo.length} checks still unanswered`)
}

const WARM_PARALLEL = 4

/** Counts lines of a log file holding `"msg":"<msg>"` (and `also`, when given). */
export async function countLogLines(file: string, msg: string, also = ''): Promise<number> {
  const needle = `"msg":"${msg}"`
  const matches = (line: string) => line.includes(needle) && line.includes(also)
  let count = 0
  let carry = ''
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8' })) {
    const lines = (carry + (chunk as string)).split('\n')
    carry = lines.pop() ?? ''
    for (const line of lines) if (matches(line)) count++
  }
  return count + (matches(carry) ? 1 : 0)
}
