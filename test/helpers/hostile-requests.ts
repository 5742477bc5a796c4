import fc from 'fast-check'
import { BUSINESS, DAY_MS, T0 } from './gate.js'
import { mutate, mutation } from './json-mutations.js'
import { kaleyraBody, metaBody, replyMessage } from './webhooks.js'

/** Secrets of the fuzzed gates: every optional surface is configured, so every route exists. */
export const SECRETS = {
  GATE_API_TOKENS: 'gate-caller-token-0123456789',
  WEBHOOK_BEARER_TOKEN: 'kaleyra-callback-token-0123',
  WEBHOOK_BASIC_AUTH: 'kaleyra:callback-password',
  META_APP_SECRET: 'meta-app-secret-0123456789',
  META_VERIFY_TOKEN: 'verify-me-please',
  ADMIN_API_TOKEN: 'admin-api-token-0123456789',
}

export const USER = '+919000000001'

/** One request as the fuzzer sends it: the path carries its query, encoded as it goes on the wire. */
export interface HostileRequest {
  /** Which gate answers: 0 without caller tokens, 1 with GATE_API_TOKENS. */
  gate: number
  method: string
  path: string
  headers: Record<string, string>
  body: string | Buffer | undefined
  /** How X-Hub-Signature-256 is made once the body is known. */
  signature: 'right' | 'wrong' | 'malformed' | 'none'
}

interface Route {
  method: string
  path: string
  query?: [string, string][]
  body?: unknown
  /** The Authorization the route takes when not the caller token; '' for none (probes, metrics, Meta). */
  auth?: string
}

const accept = replyMessage({ id: 'k1', user: USER, at: T0, response: 'accept', expiresAt: T0 + DAY_MS })
const pair = { business: BUSINESS, user: USER }

/** Each route with its method, a valid query and a valid body: the fuzzer mutates those as well as random ones. */
const ROUTES: Route[] = [
  {
    method: 'GET',
    path: '/can-call',
    query: [
      ['business', BUSINESS],
      ['user', USER],
      ['fresh', 'true'],
    ],
  },
  {
    method: 'POST',
    path: '/can-call/batch',
    body: { checks: [pair, { business: BUSINESS, user: '+91abc' }] },
  },
  {
    method: 'POST',
    path: '/call-outcomes',
    body: [{ ...pair, outcome: 'unanswered', error_code: 138006, decision_id: 'd-1' }],
  },
  {
    method: 'POST',
    path: '/webhooks/kaleyra',
    body: kaleyraBody(BUSINESS, [accept]),
    auth: `Bearer ${SECRETS.WEBHOOK_BEARER_TOKEN}`,
  },
  { method: 'POST', path: '/webhooks/meta', body: metaBody(BUSINESS, [accept]), auth: '' },
  {
    method: 'GET',
    path: '/webhooks/meta',
    query: [
      ['hub.mode', 'subscribe'],
      ['hub.verify_token', SECRETS.META_VERIFY_TOKEN],
      ['hub.challenge', '1158'],
    ],
    auth: '',
  },
  {
    method: 'DELETE',
    path: '/cache',
    query: [
      ['business', BUSINESS],
      ['user', USER],
    ],
    auth: `Bearer ${SECRETS.ADMIN_API_TOKEN}`,
  },
  ...['/healthz', '/readyz', '/metrics'].map((path) => ({ method: 'GET', path, auth: '' })),
  ...['/openapi.json', '/docs', '/docs/json'].map((path) => ({ method: 'GET', path })),
]

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']

/** Paths no route has, or that a router or a static file server could trip on. */
const ODD_PATHS = [
  '/%',
  '/can-call%zz',
  '/%E0%A4%A',
  '/docs/static/%2e%2e/%2e%2e/package.json',
  '/docs/static/index.html',
  '//can-call',
  '/can-call/',
  '/CAN-CALL',
  '/can-call;jsessionid=1',
  `/docs/${'a'.repeat(300)}`,
  '/\u00e9t\u00e9',
]

/** Query keys and values: unicode (encoded), phone-like, raw percent oddities, the gate's own keys, huge ones. */
const queryPart = fc.oneof(
  { weight: 15, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent) },
  { weight: 10, arbitrary: fc.stringMatching(/^\+?[0-9 ().-]{0,20}$/).map(encodeURIComponent) },
  {
    weight: 10,
    arbitrary: fc.constantFrom(
      ...['%', '%zz', '%C0%AF', '%FF%FE', '%00', '+', '%2B', '__proto__', 'constructor', 'a[b]', '='],
      ...['business', 'user', 'fresh', 'hub.mode', 'hub.verify_token', 'hub.challenge', 'true', '1e400'],
      ...['\u00ff\u00e9', '-1', ''],
    ),
  },
  // Past what a field takes (64, 200, 256) and, rarely, past Node's 16 KiB request head.
  { weight: 5, arbitrary: fc.constantFrom(65, 201, 257, 5000).map((n) => '9'.repeat(n)) },
  { weight: 1, arbitrary: fc.constant('9'.repeat(17_000)) },
)

/** Mostly the route's valid query, so what is added, dropped or repeated is what gets judged. */
const query = (valid: [string, string][] = []) =>
  fc
    .tuple(
      fc.oneof({ weight: 3, arbitrary: fc.constant(valid) }, { weight: 2, arbitrary: fc.subarray(valid) }),
      fc.oneof(
        { weight: 1, arbitrary: fc.constant([]) },
        { weight: 2, arbitrary: fc.array(fc.tuple(queryPart, fc.option(queryPart)), { maxLength: 4 }) },
      ),
      fc.boolean(),
    )
    .map(([kept, extra, repeat]) => {
      const pairs = kept.map(([k, v]): [string, string | null] => [k, encodeURIComponent(v)])
      pairs.push(...extra)
      if (repeat && pairs[0]) pairs.push(pairs[0])
      return pairs.map(([k, v]) => (v === null ? k : `${k}=${v}`)).join('&')
    })

/** Bodies: none, empty, valid, mutated valid ones, any JSON, broken JSON, raw bytes, past every body limit. */
const body = (valid: unknown = {}) =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(undefined, '') },
    { weight: 1, arbitrary: fc.constant(JSON.stringify(valid)) },
    {
      weight: 6,
      arbitrary: fc
        .array(mutation, { minLength: 1, maxLength: 3 })
        .map((m) => JSON.stringify(mutate(valid, m))),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.object({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? '') },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.nat(),
          fc.constantFrom('', '{', '}', ',', '"', '\\', 'NaN', '\u0000', '\ud800', '{"__proto__":{}}'),
        )
        .map(([at, junk]) => {
          const text = JSON.stringify(valid)
          return text.slice(0, at % (text.length + 1)) + junk
        }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(70_000, 300_000).map((n) => JSON.stringify({ pad: 'x'.repeat(n) })),
    },
  )

// Built once: fast-check parses the pattern each time one is built, which costs more than every request sent.
const printable = fc.stringMatching(/^[\x20-\x7e\xa0-\xff]{0,40}$/)
const headerName = fc.stringMatching(/^x-[a-z0-9-]{1,12}$/)
const oddPath = fc.oneof(fc.constantFrom(...ODD_PATHS), fc.webPath())

const OTHER_TYPES = [
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/jsonx',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'application/octet-stream',
  '*/*',
  ';',
  '',
]

/** Mostly JSON, so bodies get past the parser; as a client would, mostly none when there is no body. */
const contentType = (hasBody: boolean) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(hasBody ? 'application/json' : undefined) },
    { weight: 3, arbitrary: fc.constantFrom(undefined, 'application/json', ...OTHER_TYPES) },
    { weight: 1, arbitrary: printable },
  )

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`
const AUTHORIZATIONS = [
  ...Object.values(SECRETS).map((s) => `Bearer ${s}`),
  `bearer   ${SECRETS.ADMIN_API_TOKEN}  `,
  basic(SECRETS.WEBHOOK_BASIC_AUTH),
  ...[basic('kaleyra:wrong'), basic('no-colon'), 'Basic !!!', 'Bearer', 'Bearer a b', 'Token x'],
  `Bearer ${'x'.repeat(9000)}`,
]

/** Mostly the route's own credential (none for public routes), so requests get past the door. */
const authorization = (right: string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(right || undefined) },
    { weight: 3, arbitrary: fc.constantFrom(undefined, ...AUTHORIZATIONS) },
    { weight: 1, arbitrary: printable },
  )

const headers = (auth: string, hasBody: boolean) =>
  fc.record({
    'content-type': contentType(hasBody),
    authorization: authorization(auth),
    accept: fc.constantFrom(undefined, 'application/json', 'text/html', '*/*', 'application/xml'),
    extra: fc.dictionary(headerName, printable, { maxKeys: 3 }),
  })

/** A request to a known route, mutated, or to a method or path no route has; one in 20 of each. */
export const hostileRequest: fc.Arbitrary<HostileRequest> = fc
  .tuple(fc.constantFrom(...ROUTES), fc.nat({ max: 19 }), fc.nat({ max: 1 }), fc.nat({ max: 15 }))
  .chain(([route, odd, gate, bodyless]) => {
    const method = odd === 0 ? fc.constantFrom(...METHODS) : fc.constant(route.method)
    return fc.record({
      gate: fc.constant(gate),
      method,
      base: odd === 1 ? oddPath : fc.constant(route.path),
      query: route.query ? query(route.query) : fc.option(query(), { nil: '' }),
      headers: headers(route.auth ?? (gate === 1 ? `Bearer ${SECRETS.GATE_API_TOKENS}` : ''), bodyless > 1),
      body: bodyless > 1 ? body(route.body) : fc.constant(undefined),
      signature: fc.constantFrom('right', 'right', 'wrong', 'malformed', 'none'),
    })
  })
  .map(({ base, query: q, headers: { extra, ...named }, ...rest }) => ({
    ...rest,
    path: `${base || '/'}${q ? `?${q}` : ''}`,
    headers: Object.fromEntries(
      Object.entries({ ...extra, ...named }).filter((e): e is [string, string] => e[1] !== undefined),
    ),
    // undici sends no body with GET or HEAD, and no route reads one.
    body: rest.method === 'GET' || rest.method === 'HEAD' ? undefined : rest.body,
  }))
