import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createFaultSchedule, injectFault } from './faults.js'
import { createHolds } from './holds.js'
import { PERMISSIONS_PATH, readRequest } from './query.js'
import { answer } from './records.js'
import { NOT_FOUND, send } from './replies.js'
import type { KaleyraSimulator, KaleyraSimulatorOptions, SimConsent, SimRequest, SimState } from './types.js'

// Importers keep one entry point; the types live in types.ts.
export type {
  KaleyraSimulator,
  KaleyraSimulatorOptions,
  SimConsent,
  SimFault,
  SimHold,
  SimRequest,
} from './types.js'

/** Everything one request needs besides the state the answer reads. */
interface Running {
  sim: SimState
  requests: SimRequest[]
  faults: ReturnType<typeof createFaultSchedule>
  holds: ReturnType<typeof createHolds>
  /** Pending latency faults; close() clears them so no answer is written after it. */
  timers: Set<NodeJS.Timeout>
}

function onRequest(req: IncomingMessage, res: ServerResponse, run: Running): void {
  const [path = '', search = ''] = (req.url ?? '').split(/\?(.*)/s)
  const match = PERMISSIONS_PATH.exec(path)
  if (!match) return send(res, NOT_FOUND)
  const q = readRequest(req, path, search, run.sim.apiKey)
  run.requests.push(q)
  // A held request reads the records, and meets its fault if any, only when released.
  const respond = () => {
    const reply = () => send(res, answer(req.method, match[1] ?? '', q, run.sim))
    const fault = run.faults.next(q)
    if (!fault) return reply()
    if (fault.kind !== 'latency') return injectFault(fault, q, res, run.sim)
    const timer = setTimeout(() => {
      run.timers.delete(timer)
      reply()
    }, fault.ms)
    run.timers.add(timer)
  }
  if (!run.holds.take(q, res, respond)) respond()
}

/** Binds and returns the base URL, with an IPv6 host in brackets so the URL parses. */
async function listenOn(server: http.Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = (server.address() as AddressInfo).port
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`
}

async function shutDown(server: http.Server, run: Running): Promise<void> {
  for (const timer of run.timers) clearTimeout(timer)
  run.timers.clear()
  run.holds.drop()
  for (const res of run.sim.hung) res.destroy()
  run.sim.hung.clear()
  if (!server.listening) return
  const closed = new Promise<void>((resolve, reject) =>
    server.close((err) => (err ? reject(err) : resolve())),
  )
  server.closeAllConnections()
  await closed
}

const pairKey = (business: string, user: string) => `${business} ${user}`

export function createKaleyraSimulator(opts: KaleyraSimulatorOptions = {}): KaleyraSimulator {
  const sim: SimState = {
    sid: opts.sid ?? 'HXSIM00000000001IN',
    apiKey: opts.apiKey ?? 'sim-key',
    opts,
    store: new Map(),
    hung: new Set(),
  }
  const run: Running = {
    sim,
    requests: [],
    faults: createFaultSchedule(),
    holds: createHolds(),
    timers: new Set(),
  }
  const server = http.createServer((req, res) => onRequest(req, res, run))
  const upsert = (c: SimConsent) => sim.store.set(pairKey(c.business, c.user), { ...c })
  for (const c of opts.consents ?? []) upsert(c)
  let url = ''

  return {
    get url() {
      return url
    },
    sid: sim.sid,
    apiKey: sim.apiKey,
    requests: run.requests,
    async listen(port = 0, host = '127.0.0.1') {
      url = await listenOn(server, port, host)
      return url
    },
    close: () => shutDown(server, run),
    upsert(consent) {
      upsert(consent)
    },
    remove(business, user) {
      sim.store.delete(pairKey(business, user))
    },
    clear() {
      sim.store.clear()
    },
    setFault: (fault, times) => run.faults.set(fault, times),
    clearFault: () => run.faults.clear(),
    hold: () => run.holds.open(),
    resetRequests() {
      run.requests.length = 0
    },
  }
}
