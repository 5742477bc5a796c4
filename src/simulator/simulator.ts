import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createFaultSchedule, injectFault } from './faults.js'
import { answerGraph } from './graph/answer.js'
import { phoneNumberIdOf } from './graph/numbers.js'
import { createMetaState } from './graph/state.js'
import { graphTarget, readGraphRequest } from './graph/request.js'
import { createHolds } from './holds.js'
import { PERMISSIONS_PATH, readRequest } from './query.js'
import { answer } from './records.js'
import { NOT_FOUND, send, type Reply } from './replies.js'
import { pairKey } from './store.js'
import type { KaleyraSimulator, KaleyraSimulatorOptions, SimConsent, SimRequest, SimState } from './types.js'

// Importers keep one entry point; the types live in types.ts.
export type {
  KaleyraSimulator,
  KaleyraSimulatorOptions,
  SimConsent,
  SimFault,
  SimHold,
  SimRequest,
  Simulator,
} from './types.js'
export { simPhoneNumberId } from './graph/numbers.js'

/** Everything one request needs besides the state the answer reads. */
interface Running {
  sim: SimState
  requests: SimRequest[]
  faults: ReturnType<typeof createFaultSchedule>
  holds: ReturnType<typeof createHolds>
  /** Pending latency faults; close() clears them so no answer is written after it. */
  timers: Set<NodeJS.Timeout>
}

/** The request as the simulator logs it and the healthy answer to it, or undefined for a path it does not serve. */
function route(req: IncomingMessage, sim: SimState): { q: SimRequest; answer: () => Reply } | undefined {
  const [path = '', search = ''] = (req.url ?? '').split(/\?(.*)/s)
  const kaleyra = PERMISSIONS_PATH.exec(path)
  if (kaleyra) {
    const q = readRequest(req, path, search, sim.apiKey)
    return { q, answer: () => answer(req.method, kaleyra[1] ?? '', q, sim) }
  }
  const target = graphTarget(path)
  if (!target) return undefined
  const q = readGraphRequest(req, path, search, target, sim.meta)
  const base = `http://${req.headers.host ?? 'localhost'}`
  return { q, answer: () => answerGraph(req.method, target, q, sim, base) }
}

function onRequest(req: IncomingMessage, res: ServerResponse, run: Running): void {
  const routed = route(req, run.sim)
  if (!routed) return send(res, NOT_FOUND)
  const { q } = routed
  run.requests.push(q)
  // A held request reads the records, and meets its fault if any, only when released.
  const respond = () => {
    const reply = () => send(res, routed.answer())
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

/** One server for Kaleyra's API and Meta's Graph API, answering both from the same store. */
export function createKaleyraSimulator(opts: KaleyraSimulatorOptions = {}): KaleyraSimulator {
  const sim: SimState = {
    sid: opts.sid ?? 'HXSIM00000000001IN',
    apiKey: opts.apiKey ?? 'sim-key',
    opts,
    store: new Map(),
    hung: new Set(),
    meta: createMetaState(opts),
  }
  const run: Running = {
    sim,
    requests: [],
    faults: createFaultSchedule(),
    holds: createHolds(),
    timers: new Set(),
  }
  const server = http.createServer((req, res) => onRequest(req, res, run))
  const upsert = (c: SimConsent) => sim.store.set(pairKey(c.business, c.user), structuredClone(c))
  for (const c of opts.consents ?? []) upsert(c)
  let url = ''

  return {
    get url() {
      return url
    },
    sid: sim.sid,
    apiKey: sim.apiKey,
    metaAccessToken: sim.meta.accessToken,
    wabaId: sim.meta.wabaId,
    phoneNumberIdOf: (business) => phoneNumberIdOf(sim.meta, business),
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
