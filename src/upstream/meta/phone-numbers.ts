import type { Logger } from 'pino'
import { systemClock, type Clock } from '../../lib/clock.js'
import { UpstreamError } from '../errors.js'

export interface PhoneNumbersOptions {
  /** META_PHONE_NUMBERS: always wins over discovery. */
  fixed: ReadonlyMap<string, string>
  /** Reads the WABA's numbers (META_WABA_ID); absent: the fixed map is all there is. */
  discover?: () => Promise<Map<string, string>>
  /** Between two discoveries; each costs one to twenty Graph requests. */
  intervalMs: number
  /** How long start() waits for the first discovery before going on with the fixed map. Default 10 s. */
  startTimeoutMs?: number
  clock?: Clock
  logger: Logger
  /** Called with each failed discovery (metrics). */
  onError?: (err: unknown) => void
}

export interface PhoneNumbers {
  /** The phone number ID of a business number (E.164), or undefined when the gate cannot ask Meta about it. */
  idOf(business: string): string | undefined
  /** One discovery now; rejects when it fails, keeping the last good map. Concurrent calls share one request. */
  refresh(): Promise<void>
  /** The first discovery, bounded by startTimeoutMs, then one every intervalMs. Never throws. */
  start(): Promise<void>
  close(): void
  /** Business numbers the gate can ask about. */
  readonly size: number
  /** With discovery: whether it has ever succeeded; undefined without discovery (the fixed map is all). */
  readonly discovered: boolean | undefined
}

export function createPhoneNumbers(opts: PhoneNumbersOptions): PhoneNumbers {
  const log = opts.logger.child({ module: 'meta-phone-numbers' })
  const clock = opts.clock ?? systemClock
  let discovered = new Map<string, string>()
  let refreshedAtMs: number | null = null
  let inFlight: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false

  // The reason only: the error's cause may carry undici's details, and a URL path holds a WABA id.
  function warn(err: unknown): void {
    const reason = err instanceof UpstreamError ? err.message : 'discovery failed'
    const lastGoodAgeMs = refreshedAtMs === null ? null : clock.now() - refreshedAtMs
    log.warn({ reason, lastGoodAgeMs }, 'meta phone number discovery failed; keeping the last good map')
    opts.onError?.(err)
  }

  function refresh(): Promise<void> {
    const discover = opts.discover
    if (!discover) return Promise.resolve()
    // The executor turns a discover() that throws at once into a rejection like any other.
    inFlight ??= new Promise<Map<string, string>>((resolve) => resolve(discover()))
      .then(
        (map) => {
          discovered = map
          refreshedAtMs = clock.now()
          log.debug({ discovered: map.size }, 'meta phone numbers discovered')
        },
        (err: unknown) => {
          warn(err)
          throw err
        },
      )
      .finally(() => {
        inFlight = undefined
      })
    return inFlight
  }

  const ignore = () => {}

  async function start(): Promise<void> {
    if (!opts.discover || timer || closed) return
    timer = setInterval(() => void refresh().catch(ignore), opts.intervalMs)
    timer.unref()
    let waiting: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      waiting = setTimeout(() => resolve('late'), opts.startTimeoutMs ?? 10_000)
      waiting.unref()
    })
    // A late discovery still lands: refresh() keeps going and fills the map when it answers.
    const first = refresh().then(
      () => 'done' as const,
      () => 'failed' as const,
    )
    if ((await Promise.race([first, late])) === 'late')
      log.warn('meta phone number discovery is slow; starting with the fixed map')
    clearTimeout(waiting)
  }

  return {
    idOf: (business) => opts.fixed.get(business) ?? discovered.get(business),
    refresh,
    start,
    close() {
      closed = true
      clearInterval(timer)
    },
    get discovered() {
      return opts.discover ? refreshedAtMs !== null : undefined
    },
    get size() {
      let n = opts.fixed.size
      for (const number of discovered.keys()) if (!opts.fixed.has(number)) n++
      return n
    },
  }
}
