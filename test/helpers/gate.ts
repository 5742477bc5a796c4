import { Writable } from 'node:stream'
import { request } from 'undici'
import { afterEach } from 'vitest'
import { buildApp, type App, type AppDeps } from '../../src/http/app.js'
import { createManualClock } from '../../src/lib/clock.js'
import { loadConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/observability/logger.js'
import { expectContract } from './contract.js'
import {
  createKaleyraSimulator,
  type KaleyraSimulator,
  type SimConsent,
} from '../../src/simulator/simulator.js'

export const BUSINESS = '+918000000001'
export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0)
export const DAY_MS = 86_400_000

/** Every log line the gate wrote, kept as raw text so tests can grep for secrets. */
export function captureLogs() {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      cb()
    },
  })
  return { lines, stream, text: () => lines.join('\n') }
}

export interface Harness {
  gate: App
  url: string
  sim: KaleyraSimulator
  clock: ReturnType<typeof createManualClock>
  logs: ReturnType<typeof captureLogs>
  get(
    path: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Record<string, unknown>; body: any }>
  canCall(
    user: string,
    extra?: string,
    business?: string,
  ): Promise<{ status: number; headers: Record<string, unknown>; body: any }>
  close(): Promise<void>
}

export interface HarnessOptions {
  env?: Record<string, string>
  consents?: SimConsent[]
  sim?: KaleyraSimulator
  /** LOG_LEVEL; default info, as in production (cached checks then go through the front door). */
  logLevel?: string
  deps?: AppDeps
  /** meta: the gate asks the simulator's Graph API, with BUSINESS (and `metaNumbers`) in META_PHONE_NUMBERS. */
  upstream?: 'kaleyra' | 'meta'
  /** More business numbers the Meta gate knows (META_PHONE_NUMBERS). */
  metaNumbers?: string[]
  /** Runs on the built gate before it listens (a test's own hook, say). */
  beforeListen?: (gate: App) => void
}

/** The environment of a gate asking the simulator's Graph API about these business numbers. */
export function metaEnv(sim: KaleyraSimulator, businesses: string[] = [BUSINESS]): Record<string, string> {
  return {
    UPSTREAM: 'meta',
    META_ACCESS_TOKEN: sim.metaAccessToken,
    META_GRAPH_BASE_URL: sim.url,
    META_PHONE_NUMBERS: businesses.map((b) => `${b}=${sim.phoneNumberIdOf(b)}`).join(','),
  }
}

const once = <T>(fn: () => Promise<T>) => {
  let running: Promise<T> | undefined
  return () => (running ??= fn())
}

/** The gate on port 0 against the Kaleyra simulator on port 0, with a manual clock and captured logs. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const sim = opts.sim ?? createKaleyraSimulator({ consents: opts.consents ?? [] })
  if (!sim.url) await sim.listen(0)
  const clock = createManualClock(T0)
  const logs = captureLogs()
  const config = loadConfig({
    KALEYRA_SID: sim.sid,
    KALEYRA_API_KEY: sim.apiKey,
    KALEYRA_BASE_URL: sim.url,
    UPSTREAM_TIMEOUT_MS: '300',
    LOG_LEVEL: opts.logLevel ?? 'info',
    ...(opts.upstream === 'meta' && metaEnv(sim, [BUSINESS, ...(opts.metaNumbers ?? [])])),
    ...opts.env,
  })
  const gate = await buildApp(config, {
    clock,
    logger: createLogger(config.logLevel, logs.stream),
    defaultMetrics: false,
    ...opts.deps,
  })
  opts.beforeListen?.(gate)
  const url = await gate.listen({ port: 0, host: '127.0.0.1' })
  const get: Harness['get'] = async (path, headers) => {
    const res = await request(`${url}${path}`, { headers })
    const text = await res.body.text()
    const json = String(res.headers['content-type'] ?? '').includes('json')
    const body = json && text ? JSON.parse(text) : text
    if (path.startsWith('/can-call?')) expectContract('can-call', res.statusCode, body)
    return { status: res.statusCode, headers: res.headers, body }
  }
  return {
    gate,
    url,
    sim,
    clock,
    logs,
    get,
    canCall: (user, extra = '', business = BUSINESS) =>
      get(`/can-call?business=${encodeURIComponent(business)}&user=${encodeURIComponent(user)}${extra}`),
    // Once, however often it is called: a test may close a gate itself before useGates() does.
    close: once(async () => {
      await gate.close()
      await sim.close()
    }),
  }
}

/**
 * Harnesses closed after each test, passed or failed: `const gates = useGates()` at the top of a file or describe,
 * then `const h = await gates.start(opts)` in a test. Vitest runs after-hooks last registered first, so call it
 * below an afterEach whose cleanups (a Redis, a proxy) must outlive the gates.
 */
export function useGates() {
  const open: Harness[] = []
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()))
  })
  return {
    start: async (opts: HarnessOptions = {}): Promise<Harness> => {
      const h = await startHarness(opts)
      open.push(h)
      return h
    },
  }
}

/** A temporary grant of BUSINESS to `user`, valid a day from T0, as the simulator stores it. */
export function grant(user: string, over: Partial<SimConsent> = {}): SimConsent {
  return {
    business: BUSINESS,
    user,
    response: 'accept',
    can_perform_action: true,
    is_permanent: false,
    expiresAt: T0 + DAY_MS,
    ...over,
  }
}

/** A reject of BUSINESS by `user`, otherwise as grant() stores it. */
export function reject(user: string, over: Partial<SimConsent> = {}): SimConsent {
  return grant(user, { response: 'reject', can_perform_action: false, ...over })
}
