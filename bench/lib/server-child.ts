// Child process: the server under test, either the gate (as server.ts builds it) or the bare baseline.
import fs from 'node:fs'
import { Session } from 'node:inspector/promises'
import v8 from 'node:v8'
import Fastify, { type FastifyInstance } from 'fastify'
import { buildApp } from '../../src/http/app.js'
import { loadConfig } from '../../src/config/load.js'
import { serve } from './rpc.js'

export type ServerKind = 'gate' | 'bare'

/**
 * What the baseline answers: a constant body of the same shape and size as a cached decision, so both
 * servers serialize and send the same bytes per response.
 */
export const BARE_BODY = {
  allowed: true,
  reason: 'consent_granted',
  business: '+918000000001',
  user: '+919000000001',
  consent: {
    response: 'accept',
    is_permanent: false,
    response_source: 'user_action',
    can_perform_action: true,
    expires_at: '2026-12-02T10:00:00.000Z',
  },
  source: 'cache',
  checked_at: '2026-11-25T10:00:00.000Z',
  decision_id: '3f0c9a55-3b1e-4d8e-9a43-0a7d7c1d2b11',
}

/**
 * A bare Fastify route with logging off: what any Fastify service pays for one small JSON answer. `busyUs`: CPU time
 * spent per request before answering, to show how this machine's ratio answers to added work (hit path).
 */
async function buildBare(busyUs = 0): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  if (busyUs === 0) app.get('/can-call', async () => BARE_BODY)
  else
    app.get('/can-call', async () => {
      const until = performance.now() + busyUs / 1000
      while (performance.now() < until);
      return BARE_BODY
    })
  return app
}

let app: FastifyInstance | undefined
let session: Session | undefined

serve({
  /** Listens on 127.0.0.1 port 0. The gate gets exactly the environment a deployment would give it. */
  async start(kind: ServerKind, env: Record<string, string> = {}, busyUs = 0) {
    // buildApp with no deps is what server.ts does: production logger (pino, async, stdout), metrics, shedding.
    app = kind === 'gate' ? await buildApp(loadConfig(env)) : await buildBare(busyUs)
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    return { url, pid: process.pid }
  },
  stats: () => ({ cpu: process.cpuUsage(), memory: process.memoryUsage() }),
  /**
   * With --expose-gc: full collections that compact the heap, so an RSS reading counts what is kept, not the
   * half-empty pages a burst of garbage left committed (bench scenario "scale").
   */
  async gc() {
    v8.setFlagsFromString('--compact-on-every-full-gc')
    for (let i = 0; i < 2; i++) globalThis.gc?.()
    v8.setFlagsFromString('--no-compact-on-every-full-gc')
    // V8 hands the emptied pages back from a background task.
    await new Promise((resolve) => setTimeout(resolve, 1000))
  },
  /** CPU profiling of one measured window only (node --cpu-prof would also record start-up and warming). */
  async profileStart() {
    session = new Session()
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 100 })
    await session.post('Profiler.start')
  },
  async profileStop(file: string) {
    const { profile } = await session!.post('Profiler.stop')
    fs.writeFileSync(file, JSON.stringify(profile))
    session?.disconnect()
  },
  async close() {
    await app?.close()
  },
})
