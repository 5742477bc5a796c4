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
  onHealth?: (up: boolean) => void
  /** The subscription came back after a loss: events published meanwhile never arrived. */
  onResubscribed?: () => void
  onMessage: (from: string, raw: string) => void
}

/**
 * Two ioredis connections: one for commands, one subscribed to the event channel. Shared mode needs both.
 * The offline queue is off, so a command fails at once while disconnected instead of waiting; every command is
 * bounded by `timeoutMs`; ioredis reconnects by itself.
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
  const state = { client: false, subscribed: false, everSubscribed: false, up: false }

  const health = () => {
    const now = state.client && state.subscribed
    if (now === state.up) return
    state.up = now
    opts.onHealth?.(now)
    if (now) log.info('redis connected: shared mode on')
    else log.warn('redis unavailable: answering from this process and Kaleyra until it returns')
  }
  const set = (field: 'client' | 'subscribed', value: boolean) => () => {
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
    sub.subscribe(opts.channel).then(
      () => {
        if (state.everSubscribed) opts.onResubscribed?.()
        state.everSubscribed = true
        set('subscribed', true)()
      },
      // A failed subscribe is tried again while the connection lives; shared mode waits for it.
      () => setTimeout(() => sub.status === 'ready' && subscribe(), 200).unref(),
    )
  }
  sub.on('ready', subscribe)
  sub.on('message', (_channel: string, raw: string) => opts.onMessage(id, raw))

  return {
    /** This gate's id on the bus (its own messages come back and are skipped). */
    id,
    client,
    get up() {
      return state.up
    },
    close() {
      client.disconnect()
      sub.disconnect()
    },
  }
}
