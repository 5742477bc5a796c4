import { Compile } from 'typebox/compile'
import { parsePhoneNumberMap } from './phone-number-ids.js'
import { EnvSchema, REGION_HOSTS, type Env, type KaleyraRegion, type LOG_LEVELS } from './schema.js'

export { EnvSchema, type Env } from './schema.js'

export interface Config {
  /** UPSTREAM: who is asked on a miss; exactly one of `kaleyra` and `meta` below is set, the one named. */
  upstreamName: 'kaleyra' | 'meta'
  kaleyra?: { sid: string; apiKey: string; baseUrl: string; region: KaleyraRegion; pageSize: number }
  meta?: {
    accessToken: string
    /** E.164 -> phone number id, from META_PHONE_NUMBERS. */
    phoneNumbers: Map<string, string>
    wabaId?: string
    discoveryIntervalMs: number
    version: string
    baseUrl: string
  }
  host: string
  port: number
  logLevel: (typeof LOG_LEVELS)[number]
  cache: { maxEntries: number; maxTtlMs: number; negativeTtlMs: number; staleIfErrorMs: number }
  upstream: {
    timeoutMs: number
    deadlineMs: number
    retries: number
    maxInflight: number
    maxRps: number
    maxQueue: number
    /** UPSTREAM_BULK_SHARE: the part of the budget bulk work may take; the rest waits for live checks. */
    bulkShare: number
    /** UPSTREAM_FLEET_MAX_RPS: one rate for every gate on the Redis (0: off). */
    fleetMaxRps: number
    breaker: { failureThreshold: number; openMs: number }
  }
  batch: { windowMs: number; maxWaitMs: number; maxUsers: number }
  logUserNumbers: 'masked' | 'full'
  /** Bearer tokens callers must present; empty means no caller auth. */
  apiTokens: string[]
  shed: {
    maxEventLoopDelayMs: number
    maxEventLoopUtilization: number
    maxHeapUsedBytes: number
    retryAfterSeconds: number
  }
  unansweredStreakLimit: number
  /** An accept older than this grants only when the gate holds every newer fact (docs/consent-ordering.md). */
  eventTrustWindowMs: number
  /** Each surface is registered only when its secret is set. */
  webhooks: { bearerToken?: string; basicAuth?: string; metaAppSecret?: string; metaVerifyToken?: string }
  adminToken?: string
  redis?: { url: string; prefix: string; timeoutMs: number }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/**
 * The most UPSTREAM_MAX_RPS (and UPSTREAM_FLEET_MAX_RPS) may be with UPSTREAM=meta: half of the 100 requests per
 * second Meta allows its call_permissions endpoint, since a budget may start twice its rate within one second.
 */
export const META_MAX_RPS = 50

/** Thrown when the environment is invalid; the message names the variable and never echoes a secret. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    why: string,
  ) {
    super(`${variable} ${why}`)
    this.name = 'ConfigError'
  }
}

const checkEnv = Compile(EnvSchema)
const NUMERIC = new Set(
  Object.entries(EnvSchema.properties)
    .filter(([, s]) => ['integer', 'number'].includes((s as { type?: string }).type ?? ''))
    .map(([k]) => k),
)

/** Reads only the variables the schema names, converts integers strictly and applies defaults. */
function readEnv(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const raw = env[key]
    if (raw === undefined || raw === '') continue
    out[key] = NUMERIC.has(key) && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : raw.trim()
  }
  return checkEnv.Default(out) as Record<string, unknown>
}

function describe(error: { instancePath: string; params: object; message: string }): ConfigError {
  const missing = (error.params as { requiredProperties?: string[] }).requiredProperties?.[0]
  if (missing) return new ConfigError(missing, 'is required')
  const variable = error.instancePath.replace(/^\//, '')
  const schema = (
    EnvSchema.properties as Record<string, { description?: string; anyOf?: { const: string }[] }>
  )[variable]
  const why = schema?.anyOf ? `must be one of ${schema.anyOf.map((s) => s.const).join(', ')}` : error.message
  return new ConfigError(variable, `is invalid: ${why} (${schema?.description ?? ''})`)
}

/** Validates the environment once, at start. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const value = readEnv(env)
  const first = checkEnv.Errors(value)[0]
  if (first) throw describe(first)
  // A fleet budget without the fleet's Redis would silently be no budget at all.
  if (value.UPSTREAM_FLEET_MAX_RPS !== 0 && value.REDIS_URL === undefined)
    throw new ConfigError('UPSTREAM_FLEET_MAX_RPS', 'needs REDIS_URL: the fleet shares its budget there')
  // A lone miss waits BATCH_WINDOW_MS; a bound below it would silently shorten the window.
  if ((value.BATCH_MAX_WAIT_MS as number) < (value.BATCH_WINDOW_MS as number))
    throw new ConfigError('BATCH_MAX_WAIT_MS', 'must be at least BATCH_WINDOW_MS')
  const required = value.UPSTREAM === 'meta' ? ['META_ACCESS_TOKEN'] : ['KALEYRA_SID', 'KALEYRA_API_KEY']
  for (const name of required)
    if (value[name] === undefined)
      throw new ConfigError(name, `is required with UPSTREAM=${String(value.UPSTREAM)}`)
  // Meta answers at most 100 permission queries in any one-second window (code 613 beyond). A budget's burst is its
  // rate, so a gate (or a fleet) may start twice its rate within one second: half of Meta's limit is the most.
  const rps = value.UPSTREAM_MAX_RPS as number
  if (value.UPSTREAM === 'meta' && (rps === 0 || rps > META_MAX_RPS))
    throw new ConfigError(
      'UPSTREAM_MAX_RPS',
      `must be 1 to ${META_MAX_RPS} with UPSTREAM=meta: Meta answers 100 permission queries a second, and a gate ` +
        'may start twice its rate within one second',
    )
  if (value.UPSTREAM === 'meta' && (value.UPSTREAM_FLEET_MAX_RPS as number) > META_MAX_RPS)
    throw new ConfigError(
      'UPSTREAM_FLEET_MAX_RPS',
      `must be at most ${META_MAX_RPS} with UPSTREAM=meta: the fleet too may start twice its rate within one second`,
    )
  // The token travels in a header: over plain HTTP only to this host (a local proxy, the simulator).
  const graph = new URL(String(value.META_GRAPH_BASE_URL))
  if (value.UPSTREAM === 'meta' && graph.protocol === 'http:' && !LOOPBACK.has(graph.hostname))
    throw new ConfigError(
      'META_GRAPH_BASE_URL',
      'must be https:// unless the host is loopback: it carries the token',
    )
  const fixedIds =
    value.META_PHONE_NUMBERS === undefined ? 0 : phoneNumberIds(value.META_PHONE_NUMBERS as string).size
  if (value.UPSTREAM === 'meta' && fixedIds === 0 && value.META_WABA_ID === undefined)
    throw new ConfigError(
      'META_PHONE_NUMBERS',
      'or META_WABA_ID is required with UPSTREAM=meta: the gate asks Meta by phone number id',
    )
  return toConfig(value as Env)
}

/** META_PHONE_NUMBERS, read (config/phone-number-ids.ts); a bad entry is named by its position, never its text. */
function phoneNumberIds(raw: string): Map<string, string> {
  try {
    return parsePhoneNumberMap(raw)
  } catch (err) {
    throw new ConfigError('META_PHONE_NUMBERS', `is invalid: ${(err as Error).message}`)
  }
}

/** Maps the validated environment to the service's shape: units in names, seconds to milliseconds. */
function toConfig(e: Env): Config {
  const meta = e.UPSTREAM === 'meta'
  return {
    upstreamName: e.UPSTREAM,
    kaleyra: meta
      ? undefined
      : {
          sid: e.KALEYRA_SID ?? '',
          apiKey: e.KALEYRA_API_KEY ?? '',
          region: e.KALEYRA_REGION,
          pageSize: e.KALEYRA_PAGE_SIZE,
          baseUrl: (e.KALEYRA_BASE_URL ?? REGION_HOSTS[e.KALEYRA_REGION as KaleyraRegion]).replace(
            /\/+$/,
            '',
          ),
        },
    meta: meta
      ? {
          accessToken: e.META_ACCESS_TOKEN ?? '',
          phoneNumbers:
            e.META_PHONE_NUMBERS === undefined
              ? new Map<string, string>()
              : phoneNumberIds(e.META_PHONE_NUMBERS),
          wabaId: e.META_WABA_ID,
          discoveryIntervalMs: e.META_DISCOVERY_INTERVAL_SECONDS * 1000,
          version: e.META_GRAPH_VERSION,
          baseUrl: e.META_GRAPH_BASE_URL.replace(/\/+$/, ''),
        }
      : undefined,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    cache: {
      maxEntries: e.CACHE_MAX_ENTRIES,
      maxTtlMs: e.CACHE_MAX_TTL_SECONDS * 1000,
      negativeTtlMs: e.CACHE_NEGATIVE_TTL_SECONDS * 1000,
      staleIfErrorMs: e.CACHE_STALE_IF_ERROR_SECONDS * 1000,
    },
    upstream: {
      timeoutMs: e.UPSTREAM_TIMEOUT_MS,
      deadlineMs: e.CHECK_DEADLINE_MS ?? 2 * e.UPSTREAM_TIMEOUT_MS,
      retries: e.UPSTREAM_RETRIES,
      maxInflight: e.UPSTREAM_MAX_INFLIGHT,
      maxRps: e.UPSTREAM_MAX_RPS,
      maxQueue: e.UPSTREAM_MAX_QUEUE,
      bulkShare: e.UPSTREAM_BULK_SHARE,
      fleetMaxRps: e.UPSTREAM_FLEET_MAX_RPS,
      breaker: { failureThreshold: e.BREAKER_FAILURE_THRESHOLD, openMs: e.BREAKER_OPEN_MS },
    },
    batch: { windowMs: e.BATCH_WINDOW_MS, maxWaitMs: e.BATCH_MAX_WAIT_MS, maxUsers: e.BATCH_MAX_USERS },
    logUserNumbers: e.LOG_USER_NUMBERS,
    apiTokens: [
      ...new Set([...(e.GATE_API_TOKENS?.split(',') ?? []), ...(e.GATE_API_TOKEN ? [e.GATE_API_TOKEN] : [])]),
    ],
    shed: {
      maxEventLoopDelayMs: e.SHED_MAX_EVENT_LOOP_DELAY_MS,
      maxEventLoopUtilization: e.SHED_MAX_EVENT_LOOP_UTILIZATION,
      maxHeapUsedBytes: e.SHED_MAX_HEAP_USED_BYTES,
      retryAfterSeconds: e.SHED_RETRY_AFTER_SECONDS,
    },
    unansweredStreakLimit: e.UNANSWERED_STREAK_LIMIT,
    eventTrustWindowMs: e.EVENT_TRUST_WINDOW_SECONDS * 1000,
    webhooks: {
      bearerToken: e.WEBHOOK_BEARER_TOKEN,
      basicAuth: e.WEBHOOK_BASIC_AUTH,
      metaAppSecret: e.META_APP_SECRET,
      metaVerifyToken: e.META_VERIFY_TOKEN,
    },
    adminToken: e.ADMIN_API_TOKEN,
    redis: e.REDIS_URL
      ? { url: e.REDIS_URL, prefix: e.REDIS_KEY_PREFIX, timeoutMs: e.REDIS_TIMEOUT_MS }
      : undefined,
  }
}
