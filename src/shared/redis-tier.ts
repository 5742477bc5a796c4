import type { Logger } from 'pino'
import type { Decision } from '../consent/decide.js'
import type { BusMessage } from '../schemas/decision.js'
import { fromWire, fromWireMessage, toWire, toWireMessage } from './decision-wire.js'
import { connectRedis } from './redis-connection.js'

/** A decision another gate (or this one, earlier) stored, and how much of its TTL is left. */
export interface SharedDecision {
  decision: Decision
  ttlMs: number
}

export interface SharedTierOptions {
  url: string
  /** REDIS_KEY_PREFIX: namespace of every key and the channel. */
  prefix: string
  timeoutMs: number
  /** How long a gate may hold the right to fetch a cold pair (the check deadline). */
  lockMs: number
  logger: Logger
  /** Counts a failed Redis operation (metrics). */
  onError?: (op: string) => void
  onHealth?: (up: boolean) => void
  onResubscribed?: () => void
}

export interface SharedTier {
  readonly up: boolean
  readDecision(key: string): Promise<SharedDecision | undefined>
  /** An event's decision always lands; Kaleyra's answer never replaces an event's decision still in Redis. */
  writeDecision(key: string, decision: Decision, ttlMs: number, origin: 'upstream' | 'event'): void
  /** True: this gate fetches the pair. False: another gate is fetching it; wait with awaitDecision. */
  acquireFetch(key: string): Promise<boolean>
  releaseFetch(key: string): void
  /** Polls for the answer of the gate fetching the pair; undefined when it gave up (lock gone) or time ran out. */
  awaitDecision(key: string, waitMs: number): Promise<SharedDecision | undefined>
  /** True the first time an id is seen across the fleet, false after; undefined when Redis cannot say. */
  markSeen(id: string, ttlMs: number): Promise<boolean | undefined>
  /** Adds one to a pair's streak; the new count, or undefined when Redis cannot say. */
  incrStreak(key: string, ttlMs: number): Promise<number | undefined>
  /** Sets a pair's streak (0 ends it), for an end or to restore a count Redis lost. */
  setStreak(key: string, count: number, ttlMs: number): void
  /** The fleet's current streak for a pair (0 when none), or undefined when Redis cannot say. */
  readStreak(key: string): Promise<number | undefined>
  deleteDecisions(match: { key?: string; business?: string }): Promise<void>
  publish(message: BusMessage): void
  onMessage(handler: (message: BusMessage) => void): void
  close(): Promise<void>
}

const POLL_MS = 10

/** Kaleyra's answer must not replace an event's decision (a newer fact) still held in Redis. */
const SET_UNLESS_EVENT = `
local current = redis.call('GET', KEYS[1])
if current and string.find(current, '"origin":"event"', 1, true) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`

/** Only the gate holding the lock releases it: a slow gate whose lock expired must not free another's. */
const DEL_IF_OWNER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * The shared tier on Redis. Redis trouble never blocks a check: every operation is bounded, and a failure
 * answers "cannot say" (undefined) so every caller falls back to in-process state.
 */
export function createSharedTier(opts: SharedTierOptions): SharedTier {
  const { prefix } = opts
  const key = {
    decision: (k: string) => `${prefix}d:${k}`,
    lock: (k: string) => `${prefix}lock:${k}`,
    streak: (k: string) => `${prefix}streak:${k}`,
  }
  const handlers: Array<(m: BusMessage) => void> = []
  const redis = connectRedis({
    ...opts,
    channel: `${prefix}events`,
    onMessage(self, raw) {
      const parsed = parseJson(raw) as { from?: unknown; body?: unknown } | undefined
      // A malformed message is dropped, never guessed at (an untrusted decision evicts its pair instead);
      // this gate's own messages come back and are skipped.
      const { message, readable } = fromWireMessage(parsed?.body)
      if (!readable) opts.onError?.('message')
      if (message && parsed?.from !== self) for (const h of handlers) h(message)
    },
  })
  const { client } = redis

  async function attempt<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn()
    } catch {
      opts.onError?.(op)
      return undefined
    }
  }
  const background = (op: string, fn: () => Promise<unknown>) => void attempt(op, fn)

  async function readDecision(k: string): Promise<SharedDecision | undefined> {
    const result = await attempt('read', () =>
      client.multi().get(key.decision(k)).pttl(key.decision(k)).exec(),
    )
    const raw = result?.[0]?.[1]
    const ttlMs = Number(result?.[1]?.[1])
    if (typeof raw !== 'string' || !(ttlMs > 0)) return undefined
    const decision = fromWire(parseJson(raw))
    return decision ? { decision, ttlMs } : undefined
  }

  return {
    get up() {
      return redis.up
    },
    readDecision,
    writeDecision(k, decision, ttlMs, origin) {
      if (ttlMs <= 0) return
      const value = JSON.stringify(toWire(decision))
      if (origin === 'event') background('write', () => client.set(key.decision(k), value, 'PX', ttlMs))
      else background('write', () => client.eval(SET_UNLESS_EVENT, 1, key.decision(k), value, ttlMs))
    },
    async acquireFetch(k) {
      const ok = await attempt('lock', () => client.set(key.lock(k), redis.id, 'PX', opts.lockMs, 'NX'))
      // Redis cannot say: fetch anyway (as a gate alone would), never wait on a tier that is down.
      return ok === 'OK' || ok === undefined
    },
    releaseFetch(k) {
      background('unlock', () => client.eval(DEL_IF_OWNER, 1, key.lock(k), redis.id))
    },
    async awaitDecision(k, waitMs) {
      const until = performance.now() + waitMs
      while (performance.now() < until) {
        await new Promise((r) => setTimeout(r, POLL_MS))
        const found = await readDecision(k)
        if (found) return found
        if ((await attempt('lock', () => client.exists(key.lock(k)))) !== 1) return readDecision(k)
      }
      return undefined
    },
    async markSeen(id, ttlMs) {
      const ok = await attempt('seen', () => client.set(`${prefix}seen:${id}`, '1', 'PX', ttlMs, 'NX'))
      return ok === undefined ? undefined : ok === 'OK'
    },
    async incrStreak(k, ttlMs) {
      const result = await attempt('streak', () =>
        client.multi().incr(key.streak(k)).pexpire(key.streak(k), ttlMs).exec(),
      )
      const count = Number(result?.[0]?.[1])
      return Number.isInteger(count) ? count : undefined
    },
    setStreak(k, count, ttlMs) {
      background('streak', () =>
        count > 0 ? client.set(key.streak(k), count, 'PX', ttlMs) : client.del(key.streak(k)),
      )
    },
    async readStreak(k) {
      const raw = await attempt('streak', () => client.get(key.streak(k)))
      return raw === undefined ? undefined : Number(raw ?? 0)
    },
    async deleteDecisions({ key: pair, business }) {
      if (pair !== undefined) return void (await attempt('evict', () => client.unlink(key.decision(pair))))
      const match = `${key.decision(business === undefined ? '' : `${business}|`)}*`
      await attempt('evict', async () => {
        // Admin path: SCAN in pages, never KEYS, so a large keyspace does not stall Redis.
        for await (const keys of client.scanStream({ match, count: 500 }) as AsyncIterable<string[]>) {
          if (keys.length > 0) await client.unlink(...keys)
        }
      })
    },
    publish(body) {
      const message = JSON.stringify({ from: redis.id, body: toWireMessage(body) })
      background('publish', () => client.publish(`${prefix}events`, message))
    },
    onMessage(handler) {
      handlers.push(handler)
    },
    async close() {
      redis.close()
    },
  }
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown
  } catch {
    return undefined
  }
}
