import Type, { type Static } from 'typebox'

/** Kaleyra's documented pods, by `KALEYRA_REGION`: the config resolves the base URL the adapter is given. */
export const REGION_HOSTS = {
  in: 'https://api.in.kaleyra.io',
  sg: 'https://api.ap.kaleyra.io',
  eu: 'https://api.eu.kaleyra.io',
  na: 'https://api.na.kaleyra.io',
} as const
export type KaleyraRegion = keyof typeof REGION_HOSTS

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A bearer token: 16 or more characters of the token68 alphabet (RFC 7235). */
const TOKEN = '^[A-Za-z0-9._~+/=-]{16,}$'

const int = (def: number, minimum: number, maximum: number, description: string) =>
  Type.Integer({ default: def, minimum, maximum, description })

/**
 * The environment, as one schema: the single source for validation, defaults and the README table.
 * Only the entry points read `process.env`, and they hand it to loadConfig.
 */
export const EnvSchema = Type.Object({
  UPSTREAM: Type.Union([Type.Literal('kaleyra'), Type.Literal('meta')], {
    default: 'kaleyra',
    description: "Who is asked on a miss: kaleyra (Kaleyra's API) or meta (Meta's Cloud API)",
  }),
  KALEYRA_SID: Type.Optional(
    Type.String({
      minLength: 1,
      pattern: '^[A-Za-z0-9]+$',
      description: 'Kaleyra account SID (required with UPSTREAM=kaleyra)',
    }),
  ),
  KALEYRA_API_KEY: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'Kaleyra API key (required with UPSTREAM=kaleyra, never logged)',
    }),
  ),
  KALEYRA_REGION: Type.Union(
    Object.keys(REGION_HOSTS).map((r) => Type.Literal(r)),
    { default: 'in', description: 'Kaleyra pod: in, sg, eu or na' },
  ),
  KALEYRA_BASE_URL: Type.Optional(
    Type.String({ pattern: '^https?://[^\\s/?#@]+(/[^\\s?#]*)?$', description: 'Overrides the region host' }),
  ),
  META_ACCESS_TOKEN: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9._~+/=-]{16,}$',
      description: 'Meta system-user access token (required with UPSTREAM=meta, never logged)',
    }),
  ),
  META_PHONE_NUMBERS: Type.Optional(
    Type.String({
      maxLength: 100_000,
      description:
        'Business numbers and their phone number ids, E164=PHONE_NUMBER_ID comma-separated (UPSTREAM=meta; ' +
        'this or META_WABA_ID)',
    }),
  ),
  META_WABA_ID: Type.Optional(
    Type.String({
      pattern: '^\\d{1,32}$',
      description: 'WhatsApp Business Account id: its numbers are read at start and every discovery interval',
    }),
  ),
  META_DISCOVERY_INTERVAL_SECONDS: int(
    300,
    10,
    86_400,
    'How often the numbers of META_WABA_ID are read again',
  ),
  META_GRAPH_VERSION: Type.String({
    default: 'v23.0',
    pattern: '^v\\d{1,3}\\.\\d{1,3}$',
    description: 'Graph API version, vNN.N',
  }),
  META_GRAPH_BASE_URL: Type.String({
    default: 'https://graph.facebook.com',
    pattern: '^https?://[^\\s/?#@]+(/[^\\s?#]*)?$',
    description: 'Graph API origin (and path prefix), for a proxy or the simulator',
  }),
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
    'Requests waiting for the budget, per class (live, bulk); beyond it a miss is answered 503 at once',
  ),
  UPSTREAM_BULK_SHARE: Type.Number({
    default: 0.5,
    exclusiveMinimum: 0,
    maximum: 1,
    description:
      'Part of the upstream burst and in-flight slots bulk work (large batches, priority=bulk) may take, above 0 up to 1',
  }),
  UPSTREAM_FLEET_MAX_RPS: int(
    0,
    0,
    10_000,
    'Upstream requests started per second by every gate on REDIS_URL together (0: off, each gate its own)',
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
  BATCH_MAX_WAIT_MS: int(
    15,
    1,
    1000,
    'Longest a batch of misses stays open while misses keep arriving (at least BATCH_WINDOW_MS)',
  ),
  KALEYRA_PAGE_SIZE: int(25, 25, 100, 'Records asked per Kaleyra page (limit)'),
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
  EVENT_TRUST_WINDOW_SECONDS: int(
    300,
    0,
    86_400,
    'How old an accept may be and still grant when the gate may have lost newer facts (docs/consent-ordering.md)',
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
