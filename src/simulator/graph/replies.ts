import { randomBytes } from 'node:crypto'
import type { Reply } from '../replies.js'

/** What graph.facebook.com sends as its content type. */
export const GRAPH_CONTENT_TYPE = 'application/json; charset=UTF-8'

export const INVALID_TOKEN_MESSAGE = 'Invalid OAuth access token - Cannot parse access token'
export const RATE_LIMIT_MESSAGE = '(#613) Fetch Call Permission For Consumer Phone Number API Limit Hit'

/** Graph's wording for the codes a test is likely to ask for; any other gets a generic `(#code)` message. */
const MESSAGES: Record<number, string> = {
  1: 'An unknown error occurred',
  2: 'Service temporarily unavailable',
  4: '(#4) Application request limit reached',
  100: '(#100) Invalid parameter',
  190: INVALID_TOKEN_MESSAGE,
  613: RATE_LIMIT_MESSAGE,
  80007: '(#80007) Rate limit hit for WhatsApp Business Account',
  131000: '(#131000) Something went wrong',
}

export const graphMessage = (code: number): string => MESSAGES[code] ?? `(#${code}) Simulated Graph API error`

// A new one per answer, as Meta gives its support a handle on each request.
const traceId = () => randomBytes(12).toString('base64url')

interface ErrorExtras {
  subcode?: number | undefined
  retryAfter?: string | undefined
  headers?: Record<string, string>
}

/** Graph's error envelope: `{"error":{"message","type","code","error_subcode"?,"fbtrace_id"}}`. */
export function graphError(status: number, code: number, message: string, extras: ErrorExtras = {}): Reply {
  const { subcode, retryAfter, headers } = extras
  const error = {
    message,
    type: 'OAuthException',
    code,
    ...(subcode === undefined ? {} : { error_subcode: subcode }),
    fbtrace_id: traceId(),
  }
  return {
    status,
    body: JSON.stringify({ error }),
    headers: {
      'content-type': GRAPH_CONTENT_TYPE,
      ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
      ...headers,
    },
  }
}

export const graphOk = (body: unknown): Reply => ({
  status: 200,
  body: JSON.stringify(body),
  headers: { 'content-type': GRAPH_CONTENT_TYPE },
})

export const invalidToken = (): Reply =>
  graphError(401, 190, INVALID_TOKEN_MESSAGE, {
    headers: { 'www-authenticate': `OAuth "Facebook Platform" "invalid_token" "${INVALID_TOKEN_MESSAGE}"` },
  })

/**
 * Meta's answer for an object it does not know (or an edge it does not serve). Meta's text quotes the object id;
 * this one does not, since a derived phone number id holds the number's digits.
 */
export const unsupported = (method: string | undefined): Reply =>
  graphError(
    400,
    100,
    `Unsupported ${(method ?? 'get').toLowerCase()} request. Object does not exist, cannot be loaded due to ` +
      'missing permissions, or does not support this operation. Please read the Graph API documentation at ' +
      'https://developers.facebook.com/docs/graph-api',
    { subcode: 33 },
  )

/** A code 100 naming the parameter; never the value, which may be a number. */
export const invalidParam = (why: string): Reply => graphError(400, 100, `(#100) ${why}`)

/** 613 comes with no Retry-After: Meta sends none. */
export const rateLimited = (): Reply => graphError(429, 613, RATE_LIMIT_MESSAGE)
