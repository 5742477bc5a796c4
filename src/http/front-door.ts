import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { JSON_CONTENT_TYPE } from './decision-json.js'
import { MISSED, type CacheHits } from './cache-hits.js'

const PREFIX = '/can-call?'

/**
 * The two parameters of `GET /can-call?business=...&user=...` (either order, nothing else), decoded as Fastify's
 * query parser decodes them; undefined for any other request target, which Fastify then answers. A `+` is left to
 * Fastify (it reads it as a space), as are a malformed escape, a repeated or a third parameter, and an empty value.
 * Values are not checked here: the hit answers only a number or a BSUID as the gate keeps them (cache-hits.ts).
 */
export function parseCheckTarget(url: string): [business: string, user: string] | undefined {
  if (!url.startsWith(PREFIX)) return undefined
  const at = PREFIX.length
  const amp = url.indexOf('&', at)
  if (amp < 0 || url.indexOf('&', amp + 1) >= 0) return undefined
  // Names compared in place: no string per parameter name on the hot path.
  let business: string | undefined
  let user: string | undefined
  if (url.startsWith('business=', at) && url.startsWith('user=', amp + 1)) {
    business = value(url, at + 9, amp)
    user = value(url, amp + 6, url.length)
  } else if (url.startsWith('user=', at) && url.startsWith('business=', amp + 1)) {
    user = value(url, at + 5, amp)
    business = value(url, amp + 10, url.length)
  }
  return business === undefined || user === undefined ? undefined : [business, user]
}

function value(url: string, start: number, end: number): string | undefined {
  if (start >= end) return undefined
  const raw = url.slice(start, end)
  if (raw.includes('+')) return undefined
  if (!raw.includes('%')) return raw
  try {
    return decodeURIComponent(raw)
  } catch {
    return undefined
  }
}

export interface FrontDoorOptions {
  hits: CacheHits
  /**
   * Whether the door may answer now: false while the gate is not ready or drains, sheds load, or logs each request
   * at debug. Fastify then answers every request, with its hooks.
   */
  open: () => boolean
  /** With GATE_API_TOKENS: whether the Authorization header holds a token. A refused caller goes to Fastify (401). */
  authorized?: (authorization: string | undefined) => boolean
  /** The request-duration histogram's observation for an answered check (seconds). */
  observe: (seconds: number) => void
  logger: Logger
}

export interface FrontDoor {
  /** Answers the request and returns true, or returns false having written nothing: Fastify answers it. */
  handle(req: IncomingMessage, res: ServerResponse): boolean
  /**
   * Whether the door found this request's pair uncached: the route need not read the cache again before the miss
   * (the lookup still reads it, so an answer that landed in between is used).
   */
  missed(req: IncomingMessage): boolean
}

/**
 * Answers a cache hit before Fastify sees the request: `GET /can-call` with just a business and a user, both as the
 * gate keeps them, cached, and the caller let in as the hooks would (ready, not draining, not shedding, token
 * held). Everything else, a miss included, returns false and goes to Fastify, which answers as before. Fastify's
 * routing, hooks and reply cost a hit about 6 µs of the gate's ~40 (bench/README.md, hit path); the answer, its log
 * line and its metrics are the route's own (cache-hits.ts), and tests hold the two to the same bytes.
 */
export function createFrontDoor(opts: FrontDoorOptions): FrontDoor {
  const { hits, open, authorized, observe, logger } = opts
  // Requests, not pairs: a WeakSet forgets each with its request.
  const misses = new WeakSet<IncomingMessage>()
  return {
    handle(req, res) {
      const started = performance.now()
      if (req.method !== 'GET' || !open()) return false
      const target = parseCheckTarget(req.url ?? '')
      // A body on a GET is Fastify's to read or refuse.
      if (target === undefined || req.headers['content-length'] !== undefined) return false
      if (req.headers['transfer-encoding'] !== undefined) return false
      if (authorized !== undefined && !authorized(req.headers.authorization)) return false
      let json: ReturnType<CacheHits['answer']>
      try {
        json = hits.answer(target[0], target[1])
      } catch (err) {
        // Nothing is written yet: Fastify answers, with its error handling.
        logger.error({ err }, 'answering a cache hit failed')
        return false
      }
      if (json === MISSED) misses.add(req)
      if (typeof json !== 'string') return false
      // The headers Fastify writes for the route's string answer, in its order (a test compares the bytes).
      res.writeHead(200, [
        'content-type',
        JSON_CONTENT_TYPE,
        'content-length',
        String(Buffer.byteLength(json)),
      ])
      res.end(json)
      // In the order of the route's onResponse hook (plugins/decisions.ts): the duration, then the log line.
      try {
        observe((performance.now() - started) / 1000)
        hits.record()
      } catch (err) {
        // Answered already: a failing log or counter must not reach the socket (as Fastify treats a failing hook).
        logger.error({ err }, 'recording a cache hit failed')
      }
      return true
    },
    missed: (req) => misses.has(req),
  }
}

/**
 * Puts the door in front of Fastify's request handler on its own server, so every server option Fastify sets (timeouts,
 * keep-alive, close handling) stays as it is. Requests the door does not answer reach Fastify's handler unchanged.
 */
export function installFrontDoor(server: Server, door: FrontDoor): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  const fastify = handlers[0]
  if (handlers.length !== 1 || fastify === undefined)
    throw new Error(`expected Fastify's one request handler on its server, found ${handlers.length}`)
  server.removeListener('request', fastify)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!door.handle(req, res)) fastify(req, res)
  })
}
