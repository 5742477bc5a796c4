import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { AUTH_FAILED_CODE, DEFAULT_PAGE_SIZE, SUCCESS_CODE, type KaleyraPermissionRecord } from './wire.js'

/** One stored permission, as Kaleyra would return it. */
export interface SimConsent {
  /** E.164, e.g. '+918000000001'. */
  business: string
  /** E.164. */
  user: string
  /** 'accept' | 'reject' (any string allowed, for tests). */
  response: string
  can_perform_action: boolean
  is_permanent: boolean
  /** Default 'user_action'. */
  response_source?: string
  /** Epoch ms; null/undefined => the expiry field is emitted as null. */
  expiresAt?: number | null
  /** Which spelling of the expiry to emit; default 'expiration_timestamp'. */
  expiryField?: 'expiration_timestamp' | 'expiration_time_stamp'
}

export type SimFault =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status: number; body?: string; retryAfter?: string }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'malformed' }
  | { kind: 'code'; code: string }
  | { kind: 'wrong_types' }

export interface SimRequest {
  /** The raw path, without the query. */
  path: string
  /** Every query parameter, decoded; the first wins when one repeats. */
  query: Record<string, string>
  /** The `api-key` header equals the simulator's key (the path's SID is checked apart). */
  apiKeyOk: boolean
  business: string[]
  user: string[]
  /** As asked (default 25, before the cap of 100); NaN when not a non-negative integer. */
  limit: number
  /** As asked (default 0); NaN when not a non-negative integer. */
  offset: number
}

export interface KaleyraSimulatorOptions {
  /** Default 'HXSIM00000000001IN'. */
  sid?: string
  /** Default 'sim-key'. */
  apiKey?: string
  consents?: SimConsent[]
  /** How numbers are written in answers: 'e164' (default) or 'spaced' ('+91 90000 00001' style). */
  numberFormat?: 'e164' | 'spaced'
  /** Largest page the simulator answers, whatever `limit` asks (default 100), to exercise paging. */
  maxPageSize?: number
  /** Order of records in answers: 'stored' (default) or 'reversed'. */
  order?: 'stored' | 'reversed'
  /** Records of other pairs to add to every answer that has at least one match. Default false. */
  includeUnrelated?: boolean
}

export interface KaleyraSimulator {
  readonly url: string
  readonly sid: string
  readonly apiKey: string
  readonly requests: SimRequest[]
  listen(port?: number, host?: string): Promise<string>
  close(): Promise<void>
  upsert(consent: SimConsent): void
  remove(business: string, user: string): void
  clear(): void
  /** Apply a fault to the next `times` requests (default: every request until clearFault()). */
  setFault(fault: SimFault, times?: number): void
  clearFault(): void
  resetRequests(): void
}

const PERMISSIONS_PATH = /^\/v2\/([^/]+)\/whatsapp\/call_permissions$/
const MAX_PAGE_SIZE = 100
const MAX_UNRELATED = 2

type Reply = { status: number; body: string; headers?: Record<string, string> }

const envelope = (code: string, message: string, error: object = {}) =>
  JSON.stringify({ code, message, data: [], error })

const AUTH_FAILED: Reply = {
  status: 401,
  body: envelope(AUTH_FAILED_CODE, 'Incorrect SID or API key.', { error: 'Incorrect SID or API key.' }),
}
const NOT_FOUND: Reply = { status: 404, body: envelope('WA404', 'Not found') }
const NOT_ALLOWED: Reply = {
  status: 405,
  body: envelope('WA405', 'Method not allowed'),
  headers: { allow: 'GET' },
}
const badRequest = (why: string): Reply => ({
  status: 400,
  body: envelope('WA400', 'Incorrect payload', { error: why }),
})

function send(res: ServerResponse, reply: Reply, contentType = 'application/json'): void {
  // The client may have gone away while a latency fault was pending.
  if (res.destroyed) return
  res.writeHead(reply.status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(reply.body),
    ...reply.headers,
  })
  res.end(reply.body)
}

// Items are trimmed because the API page's own sample separates them with ', '.
const parseList = (raw: string | null): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')

function parseCount(raw: string | null, fallback: number): number {
  if (raw === null) return fallback
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN
  return Number.isSafeInteger(value) ? value : NaN
}

function firstValues(params: URLSearchParams): Record<string, string> {
  const query: Record<string, string> = {}
  for (const [key, value] of params) if (!(key in query)) query[key] = value
  return query
}

function readRequest(req: IncomingMessage, path: string, search: string, apiKey: string): SimRequest {
  // URLSearchParams decodes a bare '+' to a space, exactly like the real server.
  const params = new URLSearchParams(search)
  return {
    path,
    query: firstValues(params),
    apiKeyOk: req.headers['api-key'] === apiKey,
    business: parseList(params.get('business_phone_number')),
    user: parseList(params.get('user_phone_number')),
    limit: parseCount(params.get('limit'), DEFAULT_PAGE_SIZE),
    offset: parseCount(params.get('offset'), 0),
  }
}

const matches = (c: SimConsent, q: SimRequest): boolean =>
  (q.business.length === 0 || q.business.includes(c.business)) &&
  (q.user.length === 0 || q.user.includes(c.user))

// Truncation drops the milliseconds the API never shows.
const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

function spaced(e164: string): string {
  const [, country, rest] = /^\+(\d{2})(\d+)$/.exec(e164) ?? []
  if (!country || !rest) return e164
  return `+${country} ${(rest.match(/.{1,5}/g) ?? []).join(' ')}`
}

function toWire(c: SimConsent, numberFormat: 'e164' | 'spaced'): KaleyraPermissionRecord {
  const format = numberFormat === 'spaced' ? spaced : (n: string) => n
  const base = {
    business_phone_number: format(c.business),
    user_phone_number: format(c.user),
    can_perform_action: c.can_perform_action,
    response: c.response,
    is_permanent: c.is_permanent,
    response_source: c.response_source ?? 'user_action',
  }
  const expiry = c.expiresAt == null ? null : isoSeconds(c.expiresAt)
  return c.expiryField === 'expiration_time_stamp'
    ? { ...base, expiration_time_stamp: expiry }
    : { ...base, expiration_timestamp: expiry }
}

function success(stored: SimConsent[], q: SimRequest, opts: KaleyraSimulatorOptions): Reply {
  const matching = stored.filter((c) => matches(c, q))
  if (opts.order === 'reversed') matching.reverse()
  const limit = Math.min(q.limit, opts.maxPageSize ?? MAX_PAGE_SIZE)
  const page = matching.slice(q.offset, q.offset + limit)
  // One unrelated record before the page and one after, so neither data[0] nor the last record is safe to trust.
  const unrelated =
    opts.includeUnrelated && page.length > 0
      ? stored.filter((c) => !matches(c, q)).slice(0, MAX_UNRELATED)
      : []
  const data = [...unrelated.slice(0, 1), ...page, ...unrelated.slice(1)].map((c) =>
    toWire(c, opts.numberFormat ?? 'e164'),
  )
  const body = { code: SUCCESS_CODE, message: 'Request Processed Successfully', data, error: {} }
  return { status: 200, body: JSON.stringify({ ...body, limit, offset: q.offset, total: matching.length }) }
}

function answer(method: string | undefined, pathSid: string, q: SimRequest, sim: SimState): Reply {
  if (method !== 'GET') return NOT_ALLOWED
  if (!q.apiKeyOk || pathSid !== sim.sid) return AUTH_FAILED
  if (Number.isNaN(q.limit)) return badRequest('limit must be a non-negative integer')
  if (Number.isNaN(q.offset)) return badRequest('offset must be a non-negative integer')
  return success([...sim.store.values()], q, sim.opts)
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
  const body = { code: SUCCESS_CODE, message: 'Request Processed Successfully', data: [record], error: {} }
  return { status: 200, body: JSON.stringify({ ...body, limit: DEFAULT_PAGE_SIZE, offset: 0, total: 1 }) }
}

function statusFault(fault: Extract<SimFault, { kind: 'status' }>): Reply {
  const body = fault.body ?? envelope(`WA${fault.status}`, http.STATUS_CODES[fault.status] ?? 'Error')
  const headers: Record<string, string> = fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}
  return { status: fault.status, body, headers }
}

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

interface SimState {
  sid: string
  apiKey: string
  opts: KaleyraSimulatorOptions
  store: Map<string, SimConsent>
  hung: Set<ServerResponse>
}

function injectFault(
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
    case 'malformed':
      return send(res, { status: 200, body: '{"code":"WA200","data":[{"business_phone_number":' })
    case 'code':
      return send(res, {
        status: 200,
        body: envelope(fault.code, 'Simulated failure', { error: 'Simulated failure' }),
      })
    case 'wrong_types':
      return send(res, wrongTypes(q))
    case 'status': {
      const reply = statusFault(fault)
      return send(res, reply, isJson(reply.body) ? 'application/json' : 'text/plain')
    }
  }
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
  const requests: SimRequest[] = []
  const queued: { fault: SimFault; left: number }[] = []
  let standing: SimFault | undefined
  const timers = new Set<NodeJS.Timeout>()
  let url = ''

  function nextFault(): SimFault | undefined {
    const head = queued[0]
    if (!head) return standing
    if (--head.left === 0) queued.shift()
    return head.fault
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const [path = '', search = ''] = (req.url ?? '').split(/\?(.*)/s)
    const match = PERMISSIONS_PATH.exec(path)
    if (!match) return send(res, NOT_FOUND)
    const q = readRequest(req, path, search, sim.apiKey)
    requests.push(q)
    const reply = () => send(res, answer(req.method, match[1] ?? '', q, sim))
    const fault = nextFault()
    if (!fault) return reply()
    if (fault.kind !== 'latency') return injectFault(fault, q, res, sim)
    const timer = setTimeout(() => {
      timers.delete(timer)
      reply()
    }, fault.ms)
    timers.add(timer)
  }

  const server = http.createServer(onRequest)
  const upsert = (c: SimConsent) => sim.store.set(pairKey(c.business, c.user), { ...c })
  for (const c of opts.consents ?? []) upsert(c)

  return {
    get url() {
      return url
    },
    sid: sim.sid,
    apiKey: sim.apiKey,
    requests,
    async listen(port = 0, host = '127.0.0.1') {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve()
        })
      })
      const bound = (server.address() as AddressInfo).port
      url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`
      return url
    },
    async close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const res of sim.hung) res.destroy()
      sim.hung.clear()
      if (!server.listening) return
      const closed = new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      )
      server.closeAllConnections()
      await closed
    },
    upsert(consent) {
      upsert(consent)
    },
    remove(business, user) {
      sim.store.delete(pairKey(business, user))
    },
    clear() {
      sim.store.clear()
    },
    setFault(fault, times) {
      if (times === undefined) standing = fault
      else if (Number.isInteger(times) && times > 0) queued.push({ fault, left: times })
      else throw new RangeError('times must be a positive integer')
    },
    clearFault() {
      standing = undefined
      queued.length = 0
    },
    resetRequests() {
      requests.length = 0
    },
  }
}
