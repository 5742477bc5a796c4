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
  /**
   * Whether the gate is shutting down: an answer held since before then closes its connection, as Fastify's answers
   * do while draining (plugins/draining.ts), so a keep-alive caller cannot hold close() open.
   */
  closing?: () => boolean
  /** The request-duration histogram's observation for an answered check (seconds). */
  observe: (seconds: number) => void
  logger: Logger
}

export interface FrontDoor {
  /**
   * Takes the request and returns true (its answer is sent before the loop turn ends), or returns false having
   * written nothing: Fastify answers it.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean
  /**
   * Whether the door found this request's pair uncached: the route need not read the cache again before the miss
   * (the lookup still reads it, so an answer that landed in between is used).
   */
  missed(req: IncomingMessage): boolean
}

/**
 * Answers held at most before they are sent at once: a turn of the loop reads far fewer requests than this on any
 * ordinary load, and a flood of pipelined requests is sent in slices of this many rather than held whole.
 */
export const MAX_HELD_ANSWERS = 1024

/**
 * Answers a cache hit before Fastify sees the request: `GET /can-call` with just a business and a user, both as the
 * gate keeps them, cached, and the caller let in as the hooks would (ready, not draining, not shedding, token
 * held). Everything else, a miss included, returns false and goes to Fastify, which answers as before. Fastify's
 * routing, hooks and reply cost a hit about 6 µs (bench/README.md, hit path, fourth pass); the answer, its log
 * line and its metrics are the route's own (cache-hits.ts), and tests hold the two to the same bytes.
 *
 * The answer is decided when the request arrives (the cache read, the decision line and counters) and sent with the
 * other answers decided in the same turn of the event loop, from setImmediate. Sent one by one between the next
 * requests' work, each answer's write had to wake the caller's process again: 8 µs of CPU a hit, most of the
 * difference to bare Fastify (bench/README.md, hit path, fifth pass).
 */
export function createFrontDoor(opts: FrontDoorOptions): FrontDoor {
  const { hits, open, closing, authorized, observe, logger } = opts
  // Requests, not pairs: a WeakSet forgets each with its request.
  const misses = new WeakSet<IncomingMessage>()
  // Decided answers not yet sent: response, JSON, start time; three slots each, so holding one allocates nothing.
  const held: (ServerResponse | string | number)[] = []
  let sendScheduled = false

  function send(res: ServerResponse, json: string, started: number): void {
    // The caller left while its answer was held: nothing to send, no answer to time. (A pipelined answer waiting
    // for the one before it has no socket yet; Node drops it if the connection goes.)
    if (res.destroyed || res.socket?.destroyed === true) return
    try {
      if (closing?.() === true) res.shouldKeepAlive = false
      // The headers Fastify writes for the route's string answer, in its order (a test compares the bytes).
      res.writeHead(200, [
        'content-type',
        JSON_CONTENT_TYPE,
        'content-length',
        String(Buffer.byteLength(json)),
      ])
      res.end(json)
    } catch (err) {
      // Never expected (a fresh response, constant headers); the caller gets a closed connection, not a wait.
      logger.error({ err }, 'sending a cache hit failed')
      res.destroy()
      return
    }
    try {
      // The duration as the route's onResponse hook measures it: from the request's arrival to the answer sent.
      observe((performance.now() - started) / 1000)
    } catch (err) {
      logger.error({ err }, 'recording a cache hit failed')
    }
  }

  function sendHeld(): void {
    sendScheduled = false
    // Taken whole first: a send that re-enters the door (it cannot today) would start a new batch.
    const batch = held.splice(0, held.length)
    for (let i = 0; i < batch.length; i += 3) {
      try {
        send(batch[i] as ServerResponse, batch[i + 1] as string, batch[i + 2] as number)
      } catch {
        // Only logging a failure can throw here; the other answers must go out all the same.
      }
    }
  }

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
      try {
        hits.record()
      } catch (err) {
        // Decided already: a failing log or counter must not cost the caller its answer (nor does it in a hook).
        logger.error({ err }, 'recording a cache hit failed')
      }
      held.push(res, json, started)
      if (held.length >= MAX_HELD_ANSWERS * 3) sendHeld()
      else if (!sendScheduled) {
        sendScheduled = true
        setImmediate(sendHeld)
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
