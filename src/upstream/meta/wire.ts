import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { LATEST_EPOCH_SECONDS } from '../../lib/iso-time.js'
import { UpstreamError, parseRetryAfter } from '../errors.js'
import type { PermissionRecord } from '../port.js'

/**
 * The wire format of Meta's Cloud API as the gate reads it: `GET /<version>/<PHONE_NUMBER_ID>/call_permissions`,
 * `GET /<version>/<WABA_ID>/phone_numbers` and Graph's error envelope. Every string and array is bounded, so a
 * hostile or broken answer costs little to refuse; fields the gate does not read pass untouched.
 */

/** Between 1970 and LATEST_EPOCH_SECONDS, like every instant the gate takes from outside. */
const EpochSeconds = Type.Integer({ minimum: 0, maximum: LATEST_EPOCH_SECONDS })

export const MetaActionLimit = Type.Object({
  /** ISO 8601 duration, e.g. `PT24H`. */
  time_period: Type.Optional(Type.String({ maxLength: 64 })),
  max_allowed: Type.Optional(Type.Number()),
  current_usage: Type.Optional(Type.Number()),
  /** Present once `current_usage` reaches `max_allowed`: when the limit resets (epoch seconds). */
  limit_expiration_time: Type.Optional(EpochSeconds),
})

/** AWS End User Messaging models the same data with up to 10 limits and names of up to 50 characters. */
export const MetaAction = Type.Object({
  /** `start_call`, `send_call_permission_request`; the list is open and other names are ignored. */
  action_name: Type.String({ maxLength: 50 }),
  can_perform_action: Type.Boolean(),
  limits: Type.Optional(Type.Array(MetaActionLimit, { maxItems: 10 })),
})
export type MetaAction = Static<typeof MetaAction>

export const MetaCallPermissions = Type.Object({
  messaging_product: Type.Optional(Type.String({ maxLength: 50 })),
  permission: Type.Object({
    /** `no_permission`, `temporary` or `permanent`; any other string is kept and never allows. */
    status: Type.String({ maxLength: 50 }),
    /** Epoch seconds; Meta sends it for temporary permissions only. */
    expiration_time: Type.Optional(EpochSeconds),
  }),
  actions: Type.Optional(Type.Array(MetaAction, { maxItems: 20 })),
})
export type MetaCallPermissions = Static<typeof MetaCallPermissions>

/** Graph's error envelope. Meta's `message` is never copied into ours: it may echo a number or a token. */
export const GraphErrorEnvelope = Type.Object({
  error: Type.Object({
    message: Type.Optional(Type.String({ maxLength: 2000 })),
    type: Type.Optional(Type.String({ maxLength: 100 })),
    code: Type.Integer(),
    error_subcode: Type.Optional(Type.Integer()),
    fbtrace_id: Type.Optional(Type.String({ maxLength: 100 })),
  }),
})
export type GraphErrorEnvelope = Static<typeof GraphErrorEnvelope>

/**
 * Only the code matters to the gate, so only the code is required to read an error; at most seven digits, so a
 * code in our message can never be a phone number (Meta's are at most six, e.g. 138012).
 */
const GraphErrorCode = Type.Object({
  error: Type.Object({
    code: Type.Integer({ minimum: 0, maximum: 9_999_999 }),
    type: Type.Optional(Type.Unknown()),
  }),
})

export const MetaPhoneNumber = Type.Object({
  id: Type.String({ maxLength: 64 }),
  display_phone_number: Type.String({ maxLength: 64 }),
})

export const MetaPhoneNumbersPage = Type.Object({
  /** The gate asks 100 a page; the bound is against an upstream that ignores `limit`. */
  data: Type.Array(MetaPhoneNumber, { maxItems: 1000 }),
  paging: Type.Optional(
    Type.Object({
      cursors: Type.Optional(
        Type.Object({
          before: Type.Optional(Type.String({ maxLength: 1024 })),
          after: Type.Optional(Type.String({ maxLength: 1024 })),
        }),
      ),
      next: Type.Optional(Type.String({ maxLength: 4096 })),
    }),
  ),
})
export type MetaPhoneNumbersPage = Static<typeof MetaPhoneNumbersPage>

export const checkCallPermissions = Compile(MetaCallPermissions)
export const checkPhoneNumbersPage = Compile(MetaPhoneNumbersPage)
const checkGraphErrorCode = Compile(GraphErrorCode)

export const AUTH_FAILED_CODE = 190

/**
 * Graph's "invalid parameter": about this request alone (a BSUID Meta does not know, say), not about Meta or the
 * gate's token. It never opens the circuit (guard.ts), so a few bad users cannot stop every check.
 */
export const INVALID_PARAMETER_CODE = 100

/** Whether a failed Graph request was refused for its own parameters (code 100 with a 4xx). */
export const aboutOneRequest = (e: UpstreamError): boolean =>
  e.kind === 'error' && e.opts.code === String(INVALID_PARAMETER_CODE) && (e.opts.status ?? 0) < 500
/** 613 is this endpoint's limit (100 a second); 4, 80007 and 130429 are Graph's and WhatsApp's throttling codes. */
const RATE_LIMIT_CODES = new Set([613, 4, 80007, 130429])

/** Maps one `call_permissions` answer to the record the core decides on, about the identity the gate asked. */
export function toRecord(body: MetaCallPermissions, business: string, user: string): PermissionRecord {
  const { status, expiration_time: expiry } = body.permission
  const actions = body.actions ?? []
  const starts = actions.filter((a) => a.action_name === 'start_call')
  const asks = actions.filter((a) => a.action_name === 'send_call_permission_request')
  // Named twice, the stricter answer wins: a call is performable only when every start_call says so.
  const canPerformAction = starts.length > 0 && starts.every((a) => a.can_perform_action)
  return {
    business,
    user,
    response: responseOf(status),
    isPermanent: status === 'permanent',
    responseSource: 'meta_api',
    canPerformAction,
    expiresAtMs: status === 'no_permission' || expiry === undefined ? null : expiry * 1000,
    retryAtMs: canPerformAction ? null : latestReset(starts),
    canRequestPermission: asks.length === 0 ? null : asks.every((a) => a.can_perform_action),
  }
}

/**
 * `accept` for a grant, null for none, and any other status as Meta wrote it: the core never allows it. A status
 * spelled like the response the core reads as a grant is no grant, so it is kept apart.
 */
function responseOf(status: string): string | null {
  if (status === 'no_permission') return null
  if (status === 'temporary' || status === 'permanent') return 'accept'
  return status === 'accept' ? `status:${status}` : status
}

/** When start_call may be performed again: the latest reset among its exhausted limits; null when none says. */
function latestReset(starts: readonly MetaAction[]): number | null {
  let latest: number | null = null
  for (const action of starts)
    for (const limit of action.limits ?? [])
      if (
        limit.limit_expiration_time !== undefined &&
        (latest === null || limit.limit_expiration_time > latest)
      )
        latest = limit.limit_expiration_time
  return latest === null ? null : latest * 1000
}

/** Turns one HTTP answer to `call_permissions` into its body, or throws the UpstreamError it means. */
export function readGraphAnswer(
  status: number,
  retryAfter: string | string[] | undefined,
  text: string,
  nowMs: number,
): MetaCallPermissions {
  return readGraph(status, retryAfter, text, nowMs, checkCallPermissions, 'call permissions')
}

/** The same for one page of `phone_numbers`. */
export function readPhoneNumbersAnswer(
  status: number,
  retryAfter: string | string[] | undefined,
  text: string,
  nowMs: number,
): MetaPhoneNumbersPage {
  return readGraph(status, retryAfter, text, nowMs, checkPhoneNumbersPage, 'phone numbers')
}

interface Validator<T> {
  Check(value: unknown): value is T
  Errors(value: unknown): readonly SchemaError[]
}
interface SchemaError {
  keyword: string
  instancePath: string
  params: unknown
}

function readGraph<T>(
  status: number,
  retryAfter: string | string[] | undefined,
  text: string,
  nowMs: number,
  check: Validator<T>,
  what: string,
): T {
  const body = parseJson(text)
  const graph = checkGraphErrorCode.Check(body) ? body.error : undefined
  const code = graph?.code
  // Graph's `type` names a class of error (OAuthException); anything else in its place is not repeated.
  const type = typeof graph?.type === 'string' && /^[A-Za-z]{1,64}$/.test(graph.type) ? `${graph.type}, ` : ''
  if (status === 401 || code === AUTH_FAILED_CODE) {
    const why = code === undefined ? `HTTP ${status}` : `${type}code ${code}`
    throw new UpstreamError('auth_failed', `Meta refused the access token (${why})`, { status })
  }
  if (status === 429 || (code !== undefined && RATE_LIMIT_CODES.has(code))) {
    const why = code === undefined ? `HTTP ${status}` : `code ${code}`
    throw new UpstreamError('rate_limited', `Meta rate-limited the gate (${why})`, {
      status,
      retryAfterSeconds: parseRetryAfter(retryAfter, nowMs),
    })
  }
  if (status !== 200) {
    const why = code === undefined ? '' : ` (${type}code ${code})`
    throw new UpstreamError('error', `Meta answered HTTP ${status}${why}`, {
      status,
      ...(code !== undefined && { code: String(code) }),
    })
  }
  if (body === undefined)
    throw new UpstreamError('error', 'Meta answered with a body that is not JSON', { status })
  if (!check.Check(body)) {
    const first = check.Errors(body)[0]
    throw new UpstreamError(
      'error',
      `Meta answered ${what} the gate does not understand (${explain(first)})`,
      {
        status,
      },
    )
  }
  return body
}

/** Names the field and the kind of fault, never the value: it may be a number or a token echoed back. */
function explain(error: SchemaError | undefined): string {
  if (!error) return 'the body'
  const at = fieldName(error.instancePath)
  const params = error.params as { requiredProperties?: unknown }
  if (error.keyword === 'required' && Array.isArray(params.requiredProperties)) {
    const missing = params.requiredProperties.filter((p): p is string => typeof p === 'string').join(', ')
    return `${at ? `${at}.` : ''}${missing} missing`
  }
  const fault = FAULTS[error.keyword] ?? 'not understood'
  return `${at || 'the body'} ${fault}`
}

const FAULTS: Record<string, string> = {
  type: 'has the wrong type',
  minimum: 'is out of range',
  maximum: 'is out of range',
  maxLength: 'is too long',
  maxItems: 'has too many items',
}

/** `/actions/0/limits/1/limit_expiration_time` -> `actions[0].limits[1].limit_expiration_time`. */
function fieldName(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), '')
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
