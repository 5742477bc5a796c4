import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'

export interface RedisConnectionOptions {
  /** REDIS_URL: redis:// or rediss:// (TLS), a password may be in it. Never logged. */
  url: string
  /** REDIS_TIMEOUT_MS: bound on every command. */
  timeoutMs: number
  /** The pub/sub channel other gates' events arrive on. */
  channel: string
  logger: Logger
  /** Up: both connections ready and this gate hears its own heartbeat through the channel. */
  onHealth?: (up: boolean) => void
  onMessage: (from: string, raw: string) => void
}

/** How often each gate sends itself a heartbeat through the channel, and how long without one means it is lost. */
const HEARTBEAT_MS = 250
const HEARTBEAT_LOST_MS = 3000

/**
 * Two ioredis connections, one for commands and one subscribed to the event channel. The offline queue is off,
 * so a command fails at once while disconnected instead of waiting for ioredis to reconnect.
 */
export function connectRedis(opts: RedisConnectionOptions) {
  const id = randomUUID()
  const options = {
    commandTimeout: opts.timeoutMs,
    connectTimeout: 1000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 2000),
  }
  const client = new Redis(opts.url, options)
  const sub = new Redis(opts.url, options)
  const log = opts.logger.child({ module: 'redis' })
  const beatChannel = `${opts.channel}:heartbeat:${id}`
  const state = { client: false, subscribed: false, hearing: false, up: false }

  const health = () => {
    const now = state.client && state.subscribed && state.hearing
    if (now === state.up) return
    state.up = now
    opts.onHealth?.(now)
    if (now) log.info('redis connected: shared mode on')
    else log.warn('redis unavailable: answering from this process and Kaleyra until it returns')
  }
  const set = (field: 'client' | 'subscribed' | 'hearing', value: boolean) => () => {
    state[field] = value
    health()
  }
  client.on('ready', set('client', true))
  client.on('close', set('client', false))
  sub.on('close', set('subscribed', false))
  // ioredis emits every connection error; the ready/close events already say what matters.
  client.on('error', () => undefined)
  sub.on('error', () => undefined)
  const subscribe = () => {
    sub.subscribe(opts.channel, beatChannel).then(
      set('subscribed', true),
      // A failed subscribe is tried again while the connection lives; shared mode waits for it.
      () => setTimeout(() => sub.status === 'ready' && subscribe(), 200).unref(),
    )
  }
  sub.on('ready', subscribe)

  // A subscription can die without a close (a half-open TCP connection, a proxy that stops forwarding): each
  // gate sends itself a heartbeat on a channel of its own, through the same connection as the events, and counts
  // the subscription lost when it stops coming back. A channel each keeps the traffic linear in the fleet's size.
  let heardAt = -Infinity
  sub.on('message', (channel: string, raw: string) => {
    if (channel === beatChannel) heardAt = performance.now()
    else opts.onMessage(id, raw)
  })
  const heartbeat = setInterval(() => {
    client.publish(beatChannel, '1').catch(() => undefined)
    const hearing = performance.now() - heardAt <= HEARTBEAT_LOST_MS
    if (hearing !== state.hearing) set('hearing', hearing)()
  }, HEARTBEAT_MS)
  heartbeat.unref()

  return {
    /** This gate's id on the bus (its own messages come back and are skipped). */
    id,
    client,
    get up() {
      return state.up
    },
    close() {
      clearInterval(heartbeat)
      client.disconnect()
      sub.disconnect()
    },
  }
}
