import http, { type ServerResponse } from 'node:http'
import { graphFaultReply } from './graph/faults.js'
import { envelope, send, successReply, type Reply } from './replies.js'
import type { SimFault, SimRequest, SimState } from './types.js'
import { DEFAULT_PAGE_SIZE } from '../upstream/kaleyra/wire.js'

/** Kaleyra's envelope code and Graph's error each make sense to one API; every other fault fits both. */
const fitsApi = (f: SimFault, api: SimRequest['api']): boolean =>
  f.kind === 'code' ? api === 'kaleyra' : f.kind === 'graph_error' ? api === 'meta' : true

/** Which fault, if any, the next request gets: queued ones first, in order, then the standing one. */
export function createFaultSchedule() {
  const queued: { fault: SimFault; left: number }[] = []
  let standing: SimFault | undefined
  return {
    next(q: SimRequest): SimFault | undefined {
      const applies = (f: SimFault | undefined) =>
        f && fitsApi(f, q.api) && (!f.business || q.business.includes(f.business))
      const head = queued[0]
      if (!head) return applies(standing) ? standing : undefined
      if (!applies(head.fault)) return undefined
      if (--head.left === 0) queued.shift()
      return head.fault
    },
    set(fault: SimFault, times?: number): void {
      if (times === undefined) standing = fault
      else if (Number.isInteger(times) && times > 0) queued.push({ fault, left: times })
      else throw new RangeError('times must be a positive integer')
    },
    clear(): void {
      standing = undefined
      queued.length = 0
    },
  }
}

function wrongTypes(q: SimRequest): Reply {
  // String booleans are the dangerous case: a truthiness check would allow the call.
  const record = {
    business_phone_number: q.business[0] ?? '',
    user_phone_number: q.user[0] ?? '',
    can_perform_action: 'true',
    response: 'accept',
    is_permanent: 'false',
    response_source: 'user_action',
    expiration_timestamp: 1765875401,
  }
  return successReply([record], { limit: DEFAULT_PAGE_SIZE, offset: 0, total: 1 })
}

function statusFault(fault: Extract<SimFault, { kind: 'status' }>): Reply {
  const body = fault.body ?? envelope(`WA${fault.status}`, http.STATUS_CODES[fault.status] ?? 'Error')
  const headers: Record<string, string> = fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}
  return { status: fault.status, body, headers: { 'content-type': contentTypeOf(body), ...headers } }
}

function contentTypeOf(text: string): string {
  try {
    JSON.parse(text)
    return 'application/json'
  } catch {
    return 'text/plain'
  }
}

type KaleyraBodyFault = Extract<SimFault, { kind: 'malformed' | 'code' | 'wrong_types' | 'status' }>

function kaleyraFaultReply(fault: KaleyraBodyFault, q: SimRequest): Reply {
  switch (fault.kind) {
    case 'malformed':
      return { status: 200, body: '{"code":"WA200","data":[{"business_phone_number":' }
    case 'code':
      return { status: 200, body: envelope(fault.code, 'Simulated failure', { error: 'Simulated failure' }) }
    case 'wrong_types':
      return wrongTypes(q)
    case 'status':
      return statusFault(fault)
  }
}

/** Every fault but latency, which only delays the healthy answer and so stays with the request handler. */
export function injectFault(
  fault: Exclude<SimFault, { kind: 'latency' }>,
  q: SimRequest,
  res: ServerResponse,
  sim: SimState,
) {
  switch (fault.kind) {
    case 'hang':
      sim.hung.add(res)
      res.once('close', () => sim.hung.delete(res))
      return
    case 'reset':
      // An RST, not a FIN: the client sees ECONNRESET mid-request.
      res.socket?.resetAndDestroy()
      return
    case 'code':
      return send(res, kaleyraFaultReply(fault, q))
    case 'graph_error':
      return send(res, graphFaultReply(fault, q))
    default:
      return send(res, q.api === 'meta' ? graphFaultReply(fault, q) : kaleyraFaultReply(fault, q))
  }
}
