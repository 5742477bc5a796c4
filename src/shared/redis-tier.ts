import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import type { BusMessage, StoredDecision as Decision } from '../schemas/decision.js'
import { fromWire, fromWireMessage } from './decision-wire.js'
import type { FactWrite, SharedDecision, SharedTier } from './port.js'
import { connectRedis } from './redis-connection.js'

export type { FactWrite, SharedDecision, SharedTier } from './port.js'

export interface SharedTierOptions {
  url: string
  /** REDIS_KEY_PREFIX: namespace of every key and the channel. */
  prefix: string
  timeoutMs: number
  /** How long a gate may hold the right to fetch a cold pair (the check deadline). */
  lockMs: number
  /** EVENT_TRUST_WINDOW_SECONDS in ms: how old an accept may be when Redis cannot prove it newest. */
  trustWindowMs: number
  /** How long facts, held rejects' horizon and the eviction floor are kept: the core's event memory (7 days). */
  memoryMs: number
  clock: Clock
  logger: Logger
  /** Counts a failed Redis operation (metrics). */
  onError?: (op: string) => void
  /** Counts an event write or bus message that still failed after its retries (metrics). */
  onLostWrite?: (op: string) => void
  /** Down: events other gates receive may not reach this one. Up again: those published meanwhile never did. */
  onHealth?: (up: boolean) => void
}

const POLL_MS = 10

/**
 * Forgets every link of the identities in ARGV[2..] (ARGV[1]: the key prefix of links), in one step so no gate reads
 * half of it: a BSUID's own link and its place in its number's set; a number's set and each BSUID in it. Returns
 * the identities they were linked to.
 */
const DROP_LINKS = `
local prefix, found = ARGV[1], {}
for i = 2, #ARGV do
  local id = ARGV[i]
  if string.sub(id, 1, 1) == '+' then
    for _, b in ipairs(redis.call('SMEMBERS', prefix .. 'p:' .. id)) do
      if redis.call('GET', prefix .. 'b:' .. b) == id then redis.call('DEL', prefix .. 'b:' .. b) end
      table.insert(found, b)
    end
    redis.call('DEL', prefix .. 'p:' .. id)
  else
    local phone = redis.call('GET', prefix .. 'b:' .. id)
    if phone then
      redis.call('SREM', prefix .. 'p:' .. phone, id)
      table.insert(found, phone)
    end
    redis.call('DEL', prefix .. 'b:' .. id)
  end
end
return found`

/** Event writes and bus messages: tried this many times, this long apart, before they count as lost. */
const RETRY_DELAYS_MS = [0, 50, 150]

/**
 * Reads the pair's newest fact: `at|denied|from` in KEYS[2] (from: since when Redis holds every fact of the pair),
 * compared with the eviction floor in KEYS[4]. Shared by both scripts below.
 */
const HELD = `
local held = { at = -1e300, denied = false, from = nil }
local f = redis.call('GET', KEYS[2])
if f then
  local a, d, from = string.match(f, '^([^|]+)|([01])|(.+)$')
  held.at, held.denied, held.from = tonumber(a), d == '1', tonumber(from)
end
local floor = tonumber(redis.call('GET', KEYS[4]) or '')
if floor and floor >= held.at then held.at, held.denied = floor, true end`

/**
 * One fact, compared by time (docs/consent-ordering.md). KEYS: decision, fact, since, floor, held reject. ARGV:
 * decision JSON, its TTL, fact time, denied (1/0), kind (upstream, event, evict), now, trust window, fact TTL,
 * memory horizon, when Kaleyra was asked. Returns 1 stored, 0 outdated, -1 untrusted (its decision dropped).
 */
const WRITE_FACT = `
local now, ttl = tonumber(ARGV[6]), tonumber(ARGV[2])
local since = tonumber(redis.call('GET', KEYS[3]) or '')
if not since then since = now; redis.call('SET', KEYS[3], now) end
${HELD}
local at, denied, kind = tonumber(ARGV[3]), ARGV[4] == '1', ARGV[5]
local from = held.from or since
local function fact(t, d) redis.call('SET', KEYS[2], t .. '|' .. d .. '|' .. from, 'PX', ARGV[8]) end
local function decision()
  if ttl > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl) else redis.call('DEL', KEYS[1]) end
end
if kind == 'evict' then
  fact(math.max(now, held.at), '1')
  redis.call('DEL', KEYS[1])
  return 1
end
if kind == 'event' and denied then
  -- A reject takes the pair for its TTL even beside a newer fact (fail closed); the fact time only moves on.
  decision()
  if ttl > 0 then redis.call('SET', KEYS[5], '1', 'PX', ttl) end
  if at >= held.at then fact(at, '1') end
  return 1
end
if kind == 'event' then
  -- An accept that cannot be proven newest is no fact: its pair's decision goes, so the next check asks Kaleyra.
  if now - at > tonumber(ARGV[9]) then redis.call('DEL', KEYS[1]); return -1 end
  if at <= held.at then return 0 end
  if at < from and now - at > tonumber(ARGV[7]) then redis.call('DEL', KEYS[1]); return -1 end
  redis.call('DEL', KEYS[5])
elseif denied then
  if at < held.at or (at == held.at and held.denied) then return 0 end
else
  -- Kaleyra's grant counts from when it was asked: a fact that came while it answered may be newer.
  local asked = tonumber(ARGV[10])
  if redis.call('EXISTS', KEYS[5]) == 1 or asked < held.at or (asked == held.at and held.denied) then return 0 end
end
decision()
fact(at, denied and '1' or '0')
return 1`

/** The decision and its remaining TTL: a deny always, an allow unless a newer fact or a held reject stands beside it. */
const READ_DECISION = `
local value = redis.call('GET', KEYS[1])
if not value then return nil end
${HELD}
local ok, d = pcall(cjson.decode, value)
if not ok or type(d) ~= 'table' or type(d.checkedAtMs) ~= 'number' then return nil end
if d.allowed and (redis.call('EXISTS', KEYS[5]) == 1 or d.checkedAtMs < held.at or (d.checkedAtMs == held.at and held.denied)) then
  return nil
end
return { value, redis.call('PTTL', KEYS[1]) }`

/** An eviction floor only moves forward: a gate whose clock runs behind must not lower it. */
const RAISE_FLOOR = `
local floor = tonumber(redis.call('GET', KEYS[1]) or '')
if not floor or tonumber(ARGV[1]) > floor then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
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
    fact: (k: string) => `${prefix}f:${k}`,
    reject: (k: string) => `${prefix}deny:${k}`,
    lock: (k: string) => `${prefix}lock:${k}`,
    streak: (k: string) => `${prefix}streak:${k}`,
    since: `${prefix}since`,
    floor: `${prefix}floor`,
    /** BSUID -> its phone number; phone number -> the set of its BSUIDs (one per portfolio), to drop them all. */
    bsuidLink: (bsuid: string) => `${prefix}link:b:${bsuid}`,
    phoneLinks: (phone: string) => `${prefix}link:p:${phone}`,
  }
  const log = opts.logger.child({ module: 'redis' })
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

  /** Writes that carry a fact other gates need are tried again, and a loss is counted and logged, never silent. */
  async function persist<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
    for (const delayMs of RETRY_DELAYS_MS) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
      const result = await attempt(op, fn)
      if (result !== undefined) return result
    }
    opts.onLostWrite?.(op)
    log.warn({ op }, 'redis write lost after retries: other gates may not see this fact')
    return undefined
  }

  const factKeys = (k: string) => [key.decision(k), key.fact(k), key.since, key.floor, key.reject(k)]
  function factArgs(
    decision: Decision | undefined,
    ttlMs: number,
    kind: string,
    askedAtMs?: number,
  ): (string | number)[] {
    const now = opts.clock.now()
    return [
      decision ? JSON.stringify(decision) : '',
      Math.max(0, Math.ceil(ttlMs)),
      decision?.checkedAtMs ?? now,
      decision && decision.allowed ? 0 : 1,
      kind,
      now,
      opts.trustWindowMs,
      opts.memoryMs,
      opts.memoryMs,
      askedAtMs ?? decision?.checkedAtMs ?? now,
    ]
  }
  const RESULTS: Record<number, FactWrite> = { 1: 'stored', 0: 'outdated', [-1]: 'untrusted' }

  async function readDecision(k: string): Promise<SharedDecision | undefined> {
    const result = await attempt('read', () => client.eval(READ_DECISION, 5, ...factKeys(k)))
    if (!Array.isArray(result)) return undefined
    const [raw, ttl] = result as [unknown, unknown]
    const ttlMs = Number(ttl)
    if (typeof raw !== 'string' || !(ttlMs > 0)) return undefined
    const decision = fromWire(parseJson(raw))
    return decision ? { decision, ttlMs } : undefined
  }

  return {
    get up() {
      return redis.up
    },
    readDecision,
    async writeFact(k, decision, ttlMs, kind, askedAtMs) {
      const run = () =>
        client.eval(WRITE_FACT, 5, ...factKeys(k), ...factArgs(decision, ttlMs, kind, askedAtMs))
      const result = kind === 'event' ? await persist('write', run) : await attempt('write', run)
      return typeof result === 'number' ? RESULTS[result] : undefined
    },
    async evictFact(k) {
      await persist('evict', () =>
        client.eval(WRITE_FACT, 5, ...factKeys(k), ...factArgs(undefined, 0, 'evict')),
      )
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
    async deleteDecisions({ business }) {
      // One floor for every pair (a business eviction is conservative for the others): no older fact grants.
      await persist('evict', () => client.eval(RAISE_FLOOR, 1, key.floor, opts.clock.now(), opts.memoryMs))
      const match = `${key.decision(business === undefined ? '' : `${business}|`)}*`
      await attempt('evict', async () => {
        // Admin path: SCAN in pages, never KEYS, so a large keyspace does not stall Redis.
        for await (const keys of client.scanStream({ match, count: 500 }) as AsyncIterable<string[]>) {
          if (keys.length > 0) await client.unlink(...keys)
        }
      })
    },
    async readLink(bsuid) {
      const phone = await attempt('link', () => client.get(key.bsuidLink(bsuid)))
      return typeof phone === 'string' ? phone : undefined
    },
    async writeLink(bsuid, phone, ttlMs) {
      const ms = Math.max(1, Math.ceil(ttlMs))
      await persist('link', () =>
        client
          .multi()
          .set(key.bsuidLink(bsuid), phone, 'PX', ms)
          .sadd(key.phoneLinks(phone), bsuid)
          .pexpire(key.phoneLinks(phone), ms)
          .exec(),
      )
    },
    async dropLinks(identities) {
      const result = await persist('link', () => client.eval(DROP_LINKS, 0, `${prefix}link:`, ...identities))
      return Array.isArray(result) ? result.filter((v): v is string => typeof v === 'string') : []
    },
    publish(body) {
      const message = JSON.stringify({ from: redis.id, body })
      void persist('publish', () => client.publish(`${prefix}events`, message))
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
