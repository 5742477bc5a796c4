import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { REGION_HOSTS, type KaleyraRegion } from './kaleyra/wire.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A bearer token: 16 or more characters of the token68 alphabet (RFC 7235). */
const TOKEN = '^[A-Za-z0-9._~+/=-]{16,}$'

const int = (def: number, minimum: number, maximum: number, description: string) =>
  Type.Integer({ default: def, minimum, maximum, description })

/**
 * The environment, as one schema: the single source for validation, defaults and the README table.
 * Nothing outside this file reads `process.env`.
 */
export const EnvSchema = Type.Object({
  KALEYRA_SID: Type.String({
    minLength: 1,
    pattern: '^[A-Za-z0-9]+$',
    description: 'Kaleyra account SID (required)',
  }),
  KALEYRA_API_KEY: Type.String({ minLength: 1, description: 'Kaleyra API key (required, never logged)' }),
  KALEYRA_REGION: Type.Union(
    Object.keys(REGION_HOSTS).map((r) => Type.Literal(r)),
    { default: 'in', description: 'Kaleyra pod: in, sg, eu or na' },
  ),
  KALEYRA_BASE_URL: Type.Optional(
    Type.String({ pattern: '^https?://[^\\s/?#@]+(/[^\\s?#]*)?$', description: 'Overrides the region host' }),
  ),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Listen address' }),
  PORT: int(8080, 0, 65535, 'Listen port'),
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino level' },
  ),
  CACHE_MAX_ENTRIES: int(100_000, 1, 10_000_000, 'Decision cache bound, in entries'),
  CACHE_MAX_TTL_SECONDS: int(300, 0, 86_400, 'Cap on how long an allow is trusted'),
  CACHE_NEGATIVE_TTL_SECONDS: int(30, 0, 86_400, 'How long a deny is remembered'),
  UPSTREAM_TIMEOUT_MS: int(2000, 50, 60_000, 'Connect, headers and body timeout of each upstream request'),
  CHECK_DEADLINE_MS: Type.Optional(
    Type.Integer({
      minimum: 100,
      maximum: 120_000,
      description: 'Bound on one lookup, retries included (default 2 x UPSTREAM_TIMEOUT_MS)',
    }),
  ),
  UPSTREAM_RETRIES: int(2, 0, 5, 'Retries of a request on resets, 5xx and 429'),
  UPSTREAM_MAX_INFLIGHT: int(16, 1, 1024, 'Upstream requests in flight at once'),
  UPSTREAM_MAX_RPS: int(50, 0, 10_000, 'Upstream requests started per second (0: no limit)'),
  UPSTREAM_MAX_QUEUE: int(
    100,
    0,
    100_000,
    'Requests waiting for the budget; beyond it a miss is answered 503 at once',
  ),
  BREAKER_FAILURE_THRESHOLD: int(
    5,
    0,
    1000,
    'Consecutive upstream failures that open the circuit (0: no breaker)',
  ),
  BREAKER_OPEN_MS: int(5000, 100, 600_000, 'How long the circuit stays open before a probe'),
  BATCH_WINDOW_MS: int(2, 0, 1000, 'How long a miss waits for other misses (0: no batching)'),
  BATCH_MAX_USERS: int(25, 1, 100, 'Users per batched upstream request'),
  KALEYRA_PAGE_SIZE: int(25, 1, 1000, 'Records asked per Kaleyra page (limit)'),
  CACHE_STALE_IF_ERROR_SECONDS: int(
    0,
    0,
    86_400,
    'How long past its TTL an entry may answer when Kaleyra cannot (0: off)',
  ),
  LOG_USER_NUMBERS: Type.Union([Type.Literal('masked'), Type.Literal('full')], {
    default: 'masked',
    description: 'Decision log: user numbers masked to their last 4 digits, or full (audit trails)',
  }),
  GATE_API_TOKENS: Type.Optional(
    Type.String({
      pattern: `${TOKEN.slice(0, -1)}(,${TOKEN.slice(1, -1)})*$`,
      description: 'Comma-separated bearer tokens callers must send (16+ characters each); unset: no auth',
    }),
  ),
  GATE_API_TOKEN: Type.Optional(
    Type.String({ pattern: TOKEN, description: 'One-token alias of GATE_API_TOKENS' }),
  ),
  SHED_MAX_EVENT_LOOP_DELAY_MS: int(200, 0, 60_000, 'Shed load above this event-loop delay (0: off)'),
  SHED_MAX_EVENT_LOOP_UTILIZATION: Type.Number({
    default: 0,
    minimum: 0,
    maximum: 1,
    description: 'Shed load above this event-loop utilization, 0 to 1 (0: off)',
  }),
  SHED_MAX_HEAP_USED_BYTES: int(0, 0, Number.MAX_SAFE_INTEGER, 'Shed load above this heap use (0: off)'),
  SHED_RETRY_AFTER_SECONDS: int(1, 1, 3600, 'Retry-After sent with an overloaded answer'),
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://\\S+$',
      description:
        'redis:// or rediss:// (TLS) URL of the shared tier, password allowed; never logged. Unset: one process',
    }),
  ),
  REDIS_KEY_PREFIX: Type.String({
    default: 'consent-gate:',
    pattern: '^[A-Za-z0-9:._-]{1,64}$',
    description: 'Namespace of every Redis key and channel',
  }),
  REDIS_TIMEOUT_MS: int(50, 5, 5000, 'Bound on every Redis command'),
  UNANSWERED_STREAK_LIMIT: int(
    3,
    0,
    100,
    'Consecutive unanswered or rejected calls that stop further checks (0: off)',
  ),
  WEBHOOK_BEARER_TOKEN: Type.Optional(
    Type.String({ pattern: TOKEN, description: 'Bearer token Kaleyra callbacks must send (16+ characters)' }),
  ),
  WEBHOOK_BASIC_AUTH: Type.Optional(
    Type.String({
      pattern: '^[^:\\s]+:\\S{8,}$',
      description: 'user:password Kaleyra callbacks must send (Basic auth)',
    }),
  ),
  META_APP_SECRET: Type.Optional(
    Type.String({
      minLength: 16,
      description: 'Meta app secret: verifies X-Hub-Signature-256 on /webhooks/meta',
    }),
  ),
  META_VERIFY_TOKEN: Type.Optional(
    Type.String({ minLength: 8, description: 'hub.verify_token answered by GET /webhooks/meta' }),
  ),
  ADMIN_API_TOKEN: Type.Optional(
    Type.String({
      pattern: TOKEN,
      description: 'Bearer token for DELETE /cache (16+ characters); unset: no admin routes',
    }),
  ),
})
export type Env = Static<typeof EnvSchema>

export interface Config {
  kaleyra: { sid: string; apiKey: string; baseUrl: string; region: KaleyraRegion; pageSize: number }
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
    breaker: { failureThreshold: number; openMs: number }
  }
  batch: { windowMs: number; maxUsers: number }
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
  /** Each surface is registered only when its secret is set. */
  webhooks: { bearerToken?: string; basicAuth?: string; metaAppSecret?: string; metaVerifyToken?: string }
  adminToken?: string
  redis?: { url: string; prefix: string; timeoutMs: number }
}

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
  const e = value as Env
  return {
    kaleyra: {
      sid: e.KALEYRA_SID,
      apiKey: e.KALEYRA_API_KEY,
      region: e.KALEYRA_REGION,
      pageSize: e.KALEYRA_PAGE_SIZE,
      baseUrl: (e.KALEYRA_BASE_URL ?? REGION_HOSTS[e.KALEYRA_REGION as KaleyraRegion]).replace(/\/+$/, ''),
    },
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
      breaker: { failureThreshold: e.BREAKER_FAILURE_THRESHOLD, openMs: e.BREAKER_OPEN_MS },
    },
    batch: { windowMs: e.BATCH_WINDOW_MS, maxUsers: e.BATCH_MAX_USERS },
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
