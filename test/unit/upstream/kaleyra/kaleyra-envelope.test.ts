import { describe, it, expect } from 'vitest'
import { morePages, nextOffset, parseExpiry, readEnvelope } from '../../../../src/upstream/kaleyra/client.js'
import { UpstreamError, parseRetryAfter, toUpstreamError } from '../../../../src/upstream/errors.js'
import { recordExpiry } from '../../../../src/upstream/kaleyra/wire.js'

const NOW = Date.UTC(2025, 11, 9, 8, 0, 0)
/** 2025-12-16T08:56:41Z, the expiry in Kaleyra's documented sample. */
const SAMPLE_EXPIRY_MS = Date.UTC(2025, 11, 16, 8, 56, 41)

/** Kaleyra's documented 401 answer ("Get Call Consent Status", Sample Failure Response). */
const AUTH_FAILED_BODY = JSON.stringify({
  code: 'RBC001',
  message: 'Incorrect SID or API key.',
  data: [],
  error: { error: 'Incorrect SID or API key.' },
})

/** Kaleyra's documented success answer ("Get Call Consent Status", Sample Success Response), verbatim. */
const SAMPLE_SUCCESS_BODY = `{
    "code": "WA200",
    "message": "Request Processed Successfully",
    "data": [
        {
            "business_phone_number": "+9120XXXXX472",
            "user_phone_number": "+91XXXXXXXX95",
            "can_perform_action": true,
            "response": "accept",
            "is_permanent": true,
            "response_source": "user_action",
            "expiration_timestamp": "2025-12-16T08:56:41Z"
        }
    ],
    "error": {},
    "limit": 25,
    "offset": 0,
    "total": 1
}`

const wireRecord = (overrides: Record<string, unknown> = {}) => ({
  business_phone_number: '+918000000001',
  user_phone_number: '+919876543210',
  can_perform_action: true,
  response: 'accept',
  is_permanent: false,
  response_source: 'user_action',
  expiration_timestamp: '2025-12-16T08:56:41Z',
  ...overrides,
})

const success = (data: unknown[]) =>
  JSON.stringify({
    code: 'WA200',
    message: 'Request Processed Successfully',
    data,
    error: {},
    total: data.length,
  })

/** The UpstreamError `fn` throws; fails the test when it returns or throws anything else. */
function upstreamError(fn: () => unknown): UpstreamError {
  try {
    fn()
  } catch (err) {
    if (err instanceof UpstreamError) return err
    throw err
  }
  throw new Error('expected an UpstreamError')
}

const readError = (status: number, text: string, retryAfter?: string | string[]) =>
  upstreamError(() => readEnvelope(status, retryAfter, text, NOW))

describe('readEnvelope', () => {
  it('reads a 401 with the RBC001 envelope as auth_failed', () => {
    const err = readError(401, AUTH_FAILED_BODY)
    expect(err.kind).toBe('auth_failed')
    expect(err.opts.status).toBe(401)
  })

  it('reads a 401 without a body as auth_failed', () => {
    expect(readError(401, '').kind).toBe('auth_failed')
  })

  it('reads a 200 carrying code RBC001 as auth_failed', () => {
    expect(readError(200, AUTH_FAILED_BODY).kind).toBe('auth_failed')
  })

  it('reads a 429 as rate_limited, with Retry-After in seconds', () => {
    const err = readError(429, '', '7')
    expect(err.kind).toBe('rate_limited')
    expect(err.opts.retryAfterSeconds).toBe(7)
    expect(err.opts.status).toBe(429)
  })

  it('reads a Retry-After given as an HTTP date relative to now', () => {
    const err = readError(429, '', new Date(NOW + 30_000).toUTCString())
    expect(err.kind).toBe('rate_limited')
    expect(err.opts.retryAfterSeconds).toBe(30)
  })

  it('leaves retryAfterSeconds unset when a 429 carries no Retry-After', () => {
    const err = readError(429, '')
    expect(err.kind).toBe('rate_limited')
    expect(err.opts.retryAfterSeconds).toBeUndefined()
  })

  it.each([500, 502, 503, 404])('reads HTTP %i as error', (status) => {
    const err = readError(status, '{"code":"E500","message":"oops"}')
    expect(err.kind).toBe('error')
    expect(err.opts.status).toBe(status)
  })

  it('reads HTTP 500 even with a WA200 body as error', () => {
    expect(readError(500, success([wireRecord()])).kind).toBe('error')
  })

  it('reads a 200 whose body is not JSON as error', () => {
    expect(readError(200, '<html>Bad gateway</html>').kind).toBe('error')
  })

  it('reads a 200 with code WA500 as error', () => {
    expect(readError(200, JSON.stringify({ code: 'WA500', message: 'Internal error', data: [] })).kind).toBe(
      'error',
    )
  })

  it('reads a 200 without any code as error', () => {
    expect(readError(200, JSON.stringify({ data: [wireRecord()] })).kind).toBe('error')
  })

  it('reads a WA200 record whose can_perform_action is the string "true" as error, never as a decision', () => {
    expect(readError(200, success([wireRecord({ can_perform_action: 'true' })])).kind).toBe('error')
  })

  it('reads a WA200 record missing its response as error', () => {
    const { response: _response, ...withoutResponse } = wireRecord()
    expect(readError(200, success([withoutResponse])).kind).toBe('error')
  })

  it('does not echo numbers from the answer in the error message', () => {
    const err = readError(200, success([wireRecord({ can_perform_action: 'true' })]))
    expect(err.message).not.toContain('9876543210')
  })

  it('returns a valid envelope with its records', () => {
    const envelope = readEnvelope(
      200,
      undefined,
      success([wireRecord(), wireRecord({ response: 'reject' })]),
      NOW,
    )
    expect(envelope.code).toBe('WA200')
    expect(envelope.total).toBe(2)
    expect(envelope.data.map((r) => r.response)).toEqual(['accept', 'reject'])
    expect(envelope.data[0]?.user_phone_number).toBe('+919876543210')
  })

  it('accepts an empty page', () => {
    expect(readEnvelope(200, undefined, success([]), NOW).data).toEqual([])
  })

  it('accepts the expiry spelled expiration_time_stamp, as the API table spells it', () => {
    const { expiration_timestamp: _spelling, ...rest } = wireRecord()
    const envelope = readEnvelope(
      200,
      undefined,
      success([{ ...rest, expiration_time_stamp: '2025-12-16T08:56:41Z' }]),
      NOW,
    )
    const [record] = envelope.data
    expect(record && recordExpiry(record)).toBe('2025-12-16T08:56:41Z')
  })

  it('accepts a record with a null expiry', () => {
    const envelope = readEnvelope(200, undefined, success([wireRecord({ expiration_timestamp: null })]), NOW)
    const [record] = envelope.data
    expect(record && recordExpiry(record)).toBeNull()
  })

  it("parses Kaleyra's documented sample success body", () => {
    const envelope = readEnvelope(200, undefined, SAMPLE_SUCCESS_BODY, NOW)
    expect(envelope).toMatchObject({ code: 'WA200', limit: 25, offset: 0, total: 1 })
    expect(envelope.data).toHaveLength(1)
    const [record] = envelope.data
    expect(record).toMatchObject({ response: 'accept', can_perform_action: true, is_permanent: true })
    expect(parseExpiry(record ? recordExpiry(record) : null)).toBe(SAMPLE_EXPIRY_MS)
  })
})

describe('parseExpiry', () => {
  it.each([
    ['ISO-8601 in UTC', '2025-12-16T08:56:41Z'],
    ['ISO-8601 with an offset', '2025-12-16T14:26:41+05:30'],
    ['ISO-8601 with a negative offset without colon', '2025-12-16T03:56:41-0500'],
    ['epoch seconds as digits', '1765875401'],
  ])('reads %s', (_label, value) => {
    expect(parseExpiry(value)).toBe(SAMPLE_EXPIRY_MS)
  })

  it('reads the last instant of its range, 9999999999 s', () => {
    expect(parseExpiry('9999999999')).toBe(9_999_999_999_000)
    expect(parseExpiry('2286-11-20T17:46:39Z')).toBe(9_999_999_999_000)
  })

  it('keeps milliseconds', () => {
    expect(parseExpiry('2025-12-16T08:56:41.250Z')).toBe(SAMPLE_EXPIRY_MS + 250)
  })

  it.each([
    ['null', null],
    ['an empty string', ''],
  ])('reads %s as no expiry', (_label, value) => {
    expect(parseExpiry(value)).toBeNull()
  })

  it.each([
    ['words', 'tomorrow'],
    ['a date without a time', '2025-12-16'],
    ['a time without a zone', '2025-12-16T08:56:41'],
    ['epoch milliseconds', '1765875401000'],
    ['a month that does not exist', '2025-13-01T00:00:00Z'],
    ['a negative number', '-1765875401'],
    ['eleven digits of epoch seconds (year 5138 and later)', '99999999999'],
    ['a date past 9999999999 s (2286-11-20)', '2286-11-21T00:00:00Z'],
    ['a date in year 9999', '9999-12-31T23:59:59Z'],
    ['a date that an offset pushes past year 9999', '9999-12-31T23:59:59-14:00'],
    ['a date before 1970', '1969-12-31T23:59:59Z'],
  ])('refuses %s with an UpstreamError', (_label, value) => {
    const err = upstreamError(() => parseExpiry(value))
    expect(err.kind).toBe('error')
    expect(err.message).not.toContain(value)
  })
})

describe('parseExpiry on dates that do not exist', () => {
  it('rejects 30 February instead of rolling it into March', () => {
    expect(() => parseExpiry('2025-02-30T00:00:00Z')).toThrow(UpstreamError)
  })

  it('accepts 29 February of a leap year', () => {
    expect(parseExpiry('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29))
  })
})

describe('toUpstreamError', () => {
  it('maps a thrown null or undefined to a generic error instead of crashing', () => {
    expect(toUpstreamError(null).kind).toBe('error')
    expect(toUpstreamError(undefined).kind).toBe('error')
  })

  const withCode = (code: string) => Object.assign(new Error(`undici failed: ${code}`), { code })

  it.each(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])(
    'maps %s to timeout, keeping the original as cause',
    (code) => {
      const original = withCode(code)
      const err = toUpstreamError(original)
      expect(err).toBeInstanceOf(UpstreamError)
      expect(err.kind).toBe('timeout')
      expect(err.cause).toBe(original)
    },
  )

  it('maps a TimeoutError (AbortSignal.timeout) to timeout', () => {
    expect(toUpstreamError(new DOMException('The operation timed out.', 'TimeoutError')).kind).toBe('timeout')
  })

  it('maps an aborted request to timeout', () => {
    expect(toUpstreamError(withCode('UND_ERR_ABORTED')).kind).toBe('timeout')
  })

  it.each(['ECONNRESET', 'UND_ERR_SOCKET', 'ECONNREFUSED', 'UND_ERR_RES_EXCEEDED_MAX_SIZE'])(
    'maps %s to error',
    (code) => {
      const original = withCode(code)
      const err = toUpstreamError(original)
      expect(err.kind).toBe('error')
      expect(err.cause).toBe(original)
    },
  )

  it('names the failing code in the message of a connection failure', () => {
    expect(toUpstreamError(withCode('ECONNRESET')).message).toContain('ECONNRESET')
  })

  it('maps an error without a code to error', () => {
    expect(toUpstreamError(new TypeError('fetch failed')).kind).toBe('error')
  })

  it('passes an UpstreamError through unchanged', () => {
    const original = new UpstreamError('rate_limited', 'slow down', { status: 429, retryAfterSeconds: 3 })
    expect(toUpstreamError(original)).toBe(original)
  })
})

describe('parseRetryAfter', () => {
  it.each<[string, string | string[] | undefined, number | undefined]>([
    ['whole seconds', '7', 7],
    ['seconds with spaces around', ' 12 ', 12],
    ['the first of repeated headers', ['3', '9'], 3],
    ['0, raised to the 1 s floor', '0', 1],
    ['a day, bounded to an hour', '86400', 3600],
    ['an HTTP date 90 s ahead', new Date(NOW + 90_000).toUTCString(), 90],
    ['an HTTP date in the past, raised to the 1 s floor', new Date(NOW - 90_000).toUTCString(), 1],
    ['a missing header', undefined, undefined],
    ['an empty header', '', undefined],
    ['words', 'soon', undefined],
  ])('reads %s', (_label, value, seconds) => {
    expect(parseRetryAfter(value, NOW)).toBe(seconds)
  })
})

describe('morePages', () => {
  const page = (n: number, extra: Record<string, number> = {}) =>
    ({ code: 'WA200', data: Array.from({ length: n }, () => ({})), ...extra }) as never

  it('reads on while offset + limit is below total', () => {
    expect(morePages(page(25, { limit: 25, offset: 0, total: 60 }), 0, 25)).toBe(true)
    expect(morePages(page(10, { limit: 25, offset: 50, total: 60 }), 50, 25)).toBe(false)
  })

  it('reads on after a full page when Kaleyra gives no total, and stops after a short one', () => {
    expect(morePages(page(25, { limit: 25 }), 0, 25)).toBe(true)
    expect(morePages(page(24, { limit: 25 }), 25, 25)).toBe(false)
  })

  it("without total or limit, reads on after any page as full as Kaleyra's default, and never skips a record", () => {
    // Asked for 100; Kaleyra may have cut the page to a size it does not say.
    expect(morePages(page(30), 0, 100)).toBe(true)
    expect(nextOffset(page(30), 0)).toBe(30)
    expect(morePages(page(24), 30, 100)).toBe(false)
    // With a total but no limit, the next page starts after the records actually sent.
    expect(morePages(page(50, { total: 120 }), 0, 100)).toBe(true)
    expect(nextOffset(page(50, { total: 120 }), 0)).toBe(50)
    expect(nextOffset(page(25, { limit: 25, total: 120 }), 25)).toBe(50)
  })

  it('reads the records a page cut shorter than its echoed limit left out, and ignores a limit of 0', () => {
    // Asked for 100, echoed 100, sent 50 of 150: the next page starts at 50, not 100.
    expect(morePages(page(50, { limit: 100, offset: 0, total: 150 }), 0, 100)).toBe(true)
    expect(nextOffset(page(50, { limit: 100, offset: 0, total: 150 }), 0)).toBe(50)
    expect(morePages(page(25, { limit: 0, offset: 0, total: 60 }), 0, 25)).toBe(true)
    expect(morePages(page(25, { limit: 0 }), 0, 25)).toBe(true)
    // More records than the page holds (other pairs mixed in): step by the limit, never past a record.
    expect(nextOffset(page(27, { limit: 25, total: 60 }), 25)).toBe(50)
  })

  it('fails on a page answered for another offset instead of reading it again', () => {
    expect(() => morePages(page(25, { limit: 25, offset: 0, total: 100 }), 25, 25)).toThrow(UpstreamError)
  })
})
