// Child process: the in-repo Kaleyra simulator, standing in for a remote Kaleyra with its own CPU.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'
import { createKaleyraSimulator, type SimConsent } from '../../src/simulator/simulator.js'
import { serve } from './rpc.js'
import { percentile } from './stats.js'

const sim = createKaleyraSimulator()
let latencyMs = 0
/** How long each upstream request took, arrival to last byte, as seen at the simulator's door (ms). */
let durations: number[] = []

/**
 * The door the gate talks to, in front of the simulator: it times every request (the upstream latency the
 * gate really got, simulator queueing included), and answers HTTP 500 after the same latency to any
 * request naming `failingBusiness` (the simulator's own faults are global; the soak needs them per pair).
 */
async function startDoor(simUrl: string, failingBusiness: string | undefined): Promise<string> {
  const pool = new Pool(simUrl, { connections: 256 })
  const marker = failingBusiness && `business_phone_number=${encodeURIComponent(failingBusiness)}`
  const door = http.createServer((req, res) => {
    const t0 = performance.now()
    res.on('finish', () => durations.push(performance.now() - t0))
    if (marker && (req.url ?? '').includes(marker)) {
      setTimeout(() => {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ code: 'WA500', message: 'Internal Server Error', data: [], error: {} }))
      }, latencyMs)
      return
    }
    const headers = { 'api-key': String(req.headers['api-key']) }
    pool
      .request({ method: 'GET', path: req.url ?? '/', headers })
      .then(async (up) => {
        const body = await up.body.text()
        res.writeHead(up.statusCode, { 'content-type': 'application/json' })
        res.end(body)
      })
      .catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => door.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(door.address() as AddressInfo).port}`
}

serve({
  async start(opts: { failingBusiness?: string } = {}) {
    const url = await startDoor(await sim.listen(0), opts.failingBusiness)
    return { url, sid: sim.sid, apiKey: sim.apiKey }
  },
  clear() {
    sim.clear()
  },
  seed(consents: SimConsent[]) {
    for (const c of consents) sim.upsert(c)
    return consents.length
  },
  setLatency(ms: number) {
    latencyMs = ms
    if (ms > 0) sim.setFault({ kind: 'latency', ms })
    else sim.clearFault()
  },
  /** Requests the simulator answered since the last call (pages and retries each count; failed ones do not). */
  takeRequestCount() {
    const n = sim.requests.length
    sim.resetRequests()
    return n
  },
  /** Upstream latency at the door since the last call. */
  takeLatency() {
    const sorted = Float64Array.from(durations).sort()
    durations = []
    return { count: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) }
  },
  stats: () => ({ cpu: process.cpuUsage(), memory: process.memoryUsage() }),
})
