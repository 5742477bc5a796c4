import { Redis } from 'ioredis'
import type { FleetRate } from '../upstream/budget.js'
import type { Priority } from '../upstream/port.js'

export interface FleetBudgetOptions {
  /** REDIS_URL: a password may be in it. Never logged. */
  url: string
  /** REDIS_KEY_PREFIX: the budget's one key is `<prefix>fleet-budget`. */
  prefix: string
  /** UPSTREAM_FLEET_MAX_RPS: starts per second across every gate on this Redis; also the burst. */
  maxRps: number
  /** UPSTREAM_BULK_SHARE: bulk work may not spend the part of the burst kept for live checks, fleet-wide. */
  bulkShare: number
  /** Bound on one ask (REDIS_TIMEOUT_MS); past it the gate uses its own rate. Every start waits for an ask. */
  timeoutMs: number
}

/**
 * GCRA on one key holding the theoretical arrival time (ms, Redis's own clock via TIME, so the gates' clocks do
 * not matter). ARGV: the interval between starts, this class's tolerance, the furthest ahead the time may be (the
 * live tolerance plus one interval: never further in normal work). Returns 0 and moves the time on when a start
 * fits, else the whole ms until one would. The cap matters after a failover to a Redis whose clock is behind: the
 * stored time would otherwise hold every gate off for the clocks' difference. Effects replication (the default
 * since Redis 5 for scripts that call TIME) lets it write after TIME.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '') or 0, now)
tat = math.min(tat, now + tonumber(ARGV[3]))
local wait = tat - now - tonumber(ARGV[2])
if wait > 0 then return math.ceil(wait) end
local next = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.3f', next), 'PX', math.ceil(next - now) + 1000)
return 0`

/** Gives one start back (a grant no waiter could use): the time moves back one interval, never before now. */
const GIVE_BACK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or '')
if not tat or tat <= now then return 0 end
local back = math.max(tat - tonumber(ARGV[1]), now)
redis.call('SET', KEYS[1], string.format('%.3f', back), 'PX', math.ceil(back - now) + 1000)
return 1`

/**
 * Rejects after `ms` unless the promise settles first. The timer yields to I/O once before it rejects: an answer
 * that arrived while the event loop was busy (a burst of checks) is read first, and a busy gate does not take its
 * own slowness for Redis's.
 */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => setImmediate(() => reject(new Error('The fleet budget did not answer in time'))),
      ms,
    )
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })
}

type FleetRedis = Redis & {
  fleetTake(key: string, intervalMs: number, toleranceMs: number, capMs: number): Promise<number>
  fleetGiveBack(key: string, intervalMs: number): Promise<number>
}

/**
 * GCRA tolerances of each class: a burst of `maxRps` for live checks, and for bulk the same less the part kept for
 * live checks (at least zero, so bulk can always start at the plain rate).
 */
export function fleetTolerances(
  maxRps: number,
  bulkShare: number,
): { intervalMs: number } & Record<Priority, number> {
  const intervalMs = 1000 / maxRps
  const live = (maxRps - 1) * intervalMs
  const reserve = Math.min((1 - bulkShare) * maxRps, maxRps - 1)
  return { intervalMs, live, bulk: Math.max(0, live - reserve * intervalMs) }
}

/**
 * The fleet's rate on Redis, behind the budget's FleetRate port. Its own connection, with no offline queue: while
 * Redis is unreachable an ask fails at once, and a slow one fails after `timeoutMs`, so the budget falls back to the
 * gate's own rate without stalling. An ask while the connection is still opening (a gate just started, or Redis
 * just came back) waits for it within the same bound, so gates starting together do not all fall back at once.
 */
export function createFleetBudget(opts: FleetBudgetOptions): FleetRate & { close(): void } {
  const redis = new Redis(opts.url, {
    // Only so an unanswered command is dropped in the end; the ask itself gives up after timeoutMs (within()).
    commandTimeout: 1000,
    connectTimeout: 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 2000),
  }) as FleetRedis
  // Every failure already reaches the budget as a rejected ask; ioredis's own error events say nothing more.
  redis.on('error', () => undefined)
  // EVALSHA, falling back to EVAL when Redis does not hold the script. Loaded on each (re)connection, so the first
  // ask after it is one round trip like the others, not two that could outlast the timeout.
  redis.defineCommand('fleetTake', { numberOfKeys: 1, lua: TAKE })
  redis.defineCommand('fleetGiveBack', { numberOfKeys: 1, lua: GIVE_BACK })
  redis.on('ready', () => {
    redis.script('LOAD', TAKE).catch(() => undefined)
    redis.script('LOAD', GIVE_BACK).catch(() => undefined)
  })
  const key = `${opts.prefix}fleet-budget`
  const tolerance = fleetTolerances(opts.maxRps, opts.bulkShare)
  const capMs = tolerance.live + tolerance.intervalMs
  /**
   * Resolves when the connection is ready. While it is being opened, waits for it (one shared wait, so an outage
   * adds no listener per ask); otherwise (between reconnection attempts, closed) fails at once.
   */
  let opening: Promise<void> | undefined
  const ready = (): Promise<void> => {
    if (redis.status === 'ready') return Promise.resolve()
    if (redis.status !== 'connecting' && redis.status !== 'connect') {
      return Promise.reject(new Error('The fleet budget is not connected'))
    }
    opening ??= new Promise<void>((resolve, reject) => {
      const settle = (ok: boolean) => {
        redis.off('ready', onReady)
        redis.off('close', onClose)
        opening = undefined
        if (ok) resolve()
        else reject(new Error('The fleet budget is not connected'))
      }
      const onReady = () => settle(true)
      const onClose = () => settle(false)
      redis.on('ready', onReady)
      redis.on('close', onClose)
    })
    return opening
  }
  return {
    async acquire(priority) {
      const asked = ready().then(() => redis.fleetTake(key, tolerance.intervalMs, tolerance[priority], capMs))
      const waitMs = Number(await within(opts.timeoutMs, asked))
      if (!Number.isFinite(waitMs) || waitMs < 0) throw new Error('The fleet budget answered nonsense')
      return waitMs
    },
    release() {
      // Best effort: a lost give-back costs the fleet one interval, never more than the rate.
      if (redis.status === 'ready') redis.fleetGiveBack(key, tolerance.intervalMs).catch(() => undefined)
    },
    close: () => redis.disconnect(),
  }
}
