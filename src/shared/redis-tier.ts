import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Decision } from '../consent/decide.js'

/** A decision another gate (or this one, earlier) stored, and how much of its TTL is left. */
export interface SharedDecision {
  decision: Decision
  ttlMs: number
}

/** What one gate tells the others, so a webhook or call outcome that reached it reaches every sidecar. */
export type BusMessage =
  | { type: 'decision'; key: string; decision: Decision }
  | { type: 'streak'; key: string; count: number }
  | { type: 'evict'; key: string }
  | { type: 'evict_business'; business: string }
  | { type: 'evict_all' }

export interface SharedTierOptions {
  /** REDIS_URL: redis:// or rediss:// (TLS), a password may be in it. Never logged. */
  url: string
  /** REDIS_KEY_PREFIX: namespace of every key and the channel. */
  prefix: string
  /** REDIS_TIMEOUT_MS: bound on every command; Redis trouble costs a check at most about this much. */
  timeoutMs: number
  /** How long a gate may hold the right to fetch a cold pair (the check deadline). */
  lockMs: number
  logger: Logger
  /** Counts a failed Redis operation (metrics). */
  onError?: (op: string) => void
  /** Called when the connection comes or goes (metrics, readiness). */
  onHealth?: (up: boolean) => void
}

export interface SharedTier {
  readonly up: boolean
  readDecision(key: string): Promise<SharedDecision | undefined>
  writeDecision(key: string, decision: Decision, ttlMs: number): void
  /** True: this gate fetches the pair. False: another gate is fetching it; wait with awaitDecision. */
  acquireFetch(key: string): Promise<boolean>
  releaseFetch(key: string): void
  /** Polls for the answer of the gate fetching the pair; undefined when it gave up (lock gone) or time ran out. */
  awaitDecision(key: string, waitMs: number): Promise<SharedDecision | undefined>
  /** True the first time an id is seen across the fleet, false after; undefined when Redis cannot say. */
  markSeen(id: string, ttlMs: number): Promise<boolean | undefined>
  /** Adds one to a pair's streak; the new count, or undefined when Redis cannot say. */
  incrStreak(key: string, ttlMs: number): Promise<number | undefined>
  resetStreak(key: string): void
  /** The fleet's current streak for a pair (0 when none), or undefined when Redis cannot say. */
  readStreak(key: string): Promise<number | undefined>
  deleteDecisions(match: { key?: string; business?: string }): Promise<void>
  publish(message: BusMessage): void
  onMessage(handler: (message: BusMessage) => void): void
  close(): Promise<void>
}

const POLL_MS = 10

/**
 * The shared tier on Redis (ioredis). Redis trouble never blocks a check: the offline queue is off, so a command
 * fails at once while disconnected, every command is bounded by `timeoutMs`, and every caller falls back to
 * in-process state. ioredis reconnects by itself.
 */
export function createSharedTier(opts: SharedTierOptions): SharedTier {
  const id = randomUUID()
  const { prefix, logger } = opts
  const log = logger.child({ module: 'redis' })
  const k = { decision: (key: string) => `${prefix}d:${key}`, lock: (key: string) => `${prefix}lock:${key}` }
  const channel = `${prefix}events`
  const options = {
    commandTimeout: opts.timeoutMs,
    connectTimeout: 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 2000),
  }
  const client = new Redis(opts.url, options)
  const sub = new Redis(opts.url, options)
  let up = false
  const handlers: Array<(m: BusMessage) => void> = []

  const health = (now: boolean) => {
    if (now === up) return
    up = now
    opts.onHealth?.(now)
    if (now) log.info('redis connected: shared mode on')
    else log.warn('redis unavailable: answering from this process and Kaleyra until it returns')
  }
  client.on('ready', () => health(true))
  client.on('close', () => health(false))
  // ioredis emits every connection error; the close/ready events above already say what matters.
  client.on('error', () => undefined)
  sub.on('error', () => undefined)
  sub.on('ready', () => {
    sub.subscribe(channel).catch(() => opts.onError?.('subscribe'))
  })
  sub.on('message', (_channel: string, raw: string) => {
    const message = parse(raw)
    if (message && message.from !== id) for (const h of handlers) h(message.body)
  })

  async function attempt<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn()
    } catch {
      opts.onError?.(op)
      return undefined
    }
  }
  const background = (op: string, fn: () => Promise<unknown>) => void attempt(op, fn)

  async function readDecision(key: string): Promise<SharedDecision | undefined> {
    const result = await attempt('read', () =>
      client.multi().get(k.decision(key)).pttl(k.decision(key)).exec(),
    )
    const raw = result?.[0]?.[1]
    const ttlMs = Number(result?.[1]?.[1])
    if (typeof raw !== 'string' || !(ttlMs > 0)) return undefined
    const decision = parseDecision(raw)
    return decision && { decision, ttlMs }
  }

  return {
    get up() {
      return up
    },
    readDecision,
    writeDecision(key, decision, ttlMs) {
      if (ttlMs > 0)
        background('write', () => client.set(k.decision(key), JSON.stringify(decision), 'PX', ttlMs))
    },
    async acquireFetch(key) {
      const ok = await attempt('lock', () => client.set(k.lock(key), id, 'PX', opts.lockMs, 'NX'))
      // Redis cannot say: fetch anyway (as a gate alone would), never wait on a tier that is down.
      return ok === 'OK' || ok === undefined
    },
    releaseFetch(key) {
      background('unlock', () => client.del(k.lock(key)))
    },
    async awaitDecision(key, waitMs) {
      const until = performance.now() + waitMs
      while (performance.now() < until) {
        await new Promise((r) => setTimeout(r, POLL_MS))
        const found = await readDecision(key)
        if (found) return found
        const locked = await attempt('lock', () => client.exists(k.lock(key)))
        if (locked !== 1) return (await readDecision(key)) ?? undefined
      }
      return undefined
    },
    async markSeen(seenId, ttlMs) {
      const ok = await attempt('seen', () => client.set(`${prefix}seen:${seenId}`, '1', 'PX', ttlMs, 'NX'))
      return ok === undefined ? undefined : ok === 'OK'
    },
    async incrStreak(key, ttlMs) {
      const streak = `${prefix}streak:${key}`
      const result = await attempt('streak', () => client.multi().incr(streak).pexpire(streak, ttlMs).exec())
      const count = Number(result?.[0]?.[1])
      return Number.isInteger(count) ? count : undefined
    },
    async readStreak(key) {
      const raw = await attempt('streak', () => client.get(`${prefix}streak:${key}`))
      return raw === undefined ? undefined : Number(raw ?? 0)
    },
    resetStreak(key) {
      background('streak', () => client.del(`${prefix}streak:${key}`))
    },
    async deleteDecisions({ key, business }) {
      if (key !== undefined) return void (await attempt('evict', () => client.unlink(k.decision(key))))
      const match = `${k.decision(business === undefined ? '' : `${business}|`)}*`
      await attempt('evict', async () => {
        // Admin path: SCAN in pages, never KEYS, so a large keyspace does not stall Redis.
        for await (const keys of client.scanStream({ match, count: 500 }) as AsyncIterable<string[]>) {
          if (keys.length > 0) await client.unlink(...keys)
        }
      })
    },
    publish(body) {
      background('publish', () => client.publish(channel, JSON.stringify({ from: id, body })))
    },
    onMessage(handler) {
      handlers.push(handler)
    },
    async close() {
      client.disconnect()
      sub.disconnect()
    },
  }
}

function parse(raw: string): { from: string; body: BusMessage } | undefined {
  try {
    const m = JSON.parse(raw) as { from?: unknown; body?: { type?: unknown } }
    return typeof m.from === 'string' && typeof m.body?.type === 'string'
      ? (m as { from: string; body: BusMessage })
      : undefined
  } catch {
    return undefined
  }
}

function parseDecision(raw: string): Decision | undefined {
  try {
    const d = JSON.parse(raw) as Decision
    // Only a well-formed decision whose verdict matches its reason: a shared entry never invents a yes.
    const ok = typeof d.checkedAtMs === 'number' && d.allowed === (d.reason === 'consent_granted')
    return ok ? d : undefined
  } catch {
    return undefined
  }
}
