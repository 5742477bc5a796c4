// Child process: the simulator, which serves Kaleyra's API and Meta's Graph API from one store, behind a door that
// times every request and counts the answers by status (Meta's limit error, code 613, is an HTTP 429).
// lib/sim-child.ts forwards only Kaleyra's api-key header; this door forwards Meta's Bearer header too, so both
// upstreams of the Meta scenario pass through the same door and their latencies compare.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'
import { createKaleyraSimulator, type SimConsent, type Simulator } from '../../src/simulator/simulator.js'
import { serve } from '../lib/rpc.js'
import { percentile } from '../lib/stats.js'

/** The credential headers the two APIs read; nothing else of the gate's request matters to the simulator. */
const FORWARDED = ['api-key', 'authorization'] as const

let sim: Simulator | undefined
let durations: number[] = []
let statuses: Record<number, number> = {}

async function startDoor(simUrl: string): Promise<string> {
  const pool = new Pool(simUrl, { connections: 256 })
  const door = http.createServer((req, res) => {
    const t0 = performance.now()
    res.on('finish', () => {
      durations.push(performance.now() - t0)
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
    })
    const headers: Record<string, string> = {}
    for (const name of FORWARDED) {
      const value = req.headers[name]
      if (typeof value === 'string') headers[name] = value
    }
    pool
      .request({ method: 'GET', path: req.url ?? '/', headers })
      .then(async (up) => {
        const body = await up.body.text()
        const retryAfter = up.headers['retry-after']
        res.writeHead(up.statusCode, {
          'content-type': String(up.headers['content-type'] ?? 'application/json'),
          ...(typeof retryAfter === 'string' && { 'retry-after': retryAfter }),
        })
        res.end(body)
      })
      .catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => door.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(door.address() as AddressInfo).port}`
}

const started = (): Simulator => {
  if (!sim) throw new Error('start first')
  return sim
}

serve({
  /** `metaMaxRps`: Meta's limit on call_permissions requests in any second (the simulator's default is 100). */
  async start(opts: { metaMaxRps?: number; businesses: string[] }) {
    sim = createKaleyraSimulator({ metaMaxRps: opts.metaMaxRps })
    const url = await startDoor(await sim.listen(0))
    const phoneNumberIds = Object.fromEntries(opts.businesses.map((b) => [b, started().phoneNumberIdOf(b)]))
    return { url, sid: sim.sid, apiKey: sim.apiKey, metaAccessToken: sim.metaAccessToken, phoneNumberIds }
  },
  clear: () => started().clear(),
  seed(consents: SimConsent[]) {
    for (const c of consents) started().upsert(c)
    return consents.length
  },
  setLatency(ms: number) {
    if (ms > 0) started().setFault({ kind: 'latency', ms })
    else started().clearFault()
  },
  /** Answers the door sent since the last call, by HTTP status (retries each count). */
  takeStatuses() {
    const taken = statuses
    statuses = {}
    return taken
  },
  /** Upstream latency at the door since the last call, the simulator's queueing included. */
  takeLatency() {
    const sorted = Float64Array.from(durations).sort()
    durations = []
    return { count: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) }
  },
  stats: () => ({ cpu: process.cpuUsage(), memory: process.memoryUsage() }),
})
