import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { UpstreamError } from '../../../../src/upstream/errors.js'
import { readGraphAnswer, readPhoneNumbersAnswer, toRecord } from '../../../../src/upstream/meta/wire.js'

const NOW = Date.UTC(2026, 0, 1)
const BUSINESS = '+918000000001'
const USER = '+919876543210'

/** Meta's documented answer ("Obtain user call permissions"), verbatim. */
const SAMPLE = `{"messaging_product":"whatsapp",
 "permission":{"status":"temporary","expiration_time":1745343479},
 "actions":[
  {"action_name":"send_call_permission_request","can_perform_action":true,
   "limits":[{"time_period":"PT24H","max_allowed":1,"current_usage":0},
             {"time_period":"P7D","max_allowed":2,"current_usage":1}]},
  {"action_name":"start_call","can_perform_action":false,
   "limits":[{"time_period":"PT24H","max_allowed":5,"current_usage":5,
              "limit_expiration_time":1745622600}]}]}`

const action = (name: string, can: boolean, limits?: unknown[]) => ({
  action_name: name,
  can_perform_action: can,
  ...(limits ? { limits } : {}),
})

const body = (permission: Record<string, unknown>, actions: unknown = [action('start_call', true)]) => ({
  messaging_product: 'whatsapp',
  permission,
  actions,
})

/** Parses and maps one 200 answer, as the client does. */
const record = (value: unknown, user = USER) =>
  toRecord(readGraphAnswer(200, undefined, JSON.stringify(value), NOW), BUSINESS, user)

function upstreamError(fn: () => unknown): UpstreamError {
  try {
    fn()
  } catch (err) {
    if (err instanceof UpstreamError) return err
    throw err
  }
  throw new Error('expected an UpstreamError')
}

const readError = (status: number, value: unknown, retryAfter?: string) =>
  upstreamError(() =>
    readGraphAnswer(status, retryAfter, typeof value === 'string' ? value : JSON.stringify(value), NOW),
  )

const graphError = (code: number, type = 'OAuthException', extra: Record<string, unknown> = {}) => ({
  error: { message: 'Something about +919876543210', type, code, fbtrace_id: 'AbCdEf123', ...extra },
})

describe('toRecord', () => {
  it('maps Meta documented sample: temporary, call cap exhausted, may ask again', () => {
    expect(toRecord(readGraphAnswer(200, undefined, SAMPLE, NOW), BUSINESS, USER)).toEqual({
      business: BUSINESS,
      user: USER,
      response: 'accept',
      isPermanent: false,
      responseSource: 'meta_api',
      canPerformAction: false,
      expiresAtMs: 1745343479_000,
      retryAtMs: 1745622600_000,
      canRequestPermission: true,
    })
  })

  it('maps no_permission to no response and no expiry, keeping the actions', () => {
    const r = record(
      body({ status: 'no_permission', expiration_time: 1745343479 }, [
        action('start_call', false),
        action('send_call_permission_request', true),
      ]),
    )
    expect(r).toMatchObject({
      response: null,
      isPermanent: false,
      expiresAtMs: null,
      canPerformAction: false,
    })
    expect(r.canRequestPermission).toBe(true)
    expect(r.retryAtMs).toBeNull()
  })

  it('maps temporary to accept with its expiry, or null when Meta gives none', () => {
    expect(record(body({ status: 'temporary', expiration_time: 1800000000 }))).toMatchObject({
      response: 'accept',
      isPermanent: false,
      expiresAtMs: 1800000000_000,
      canPerformAction: true,
    })
    expect(record(body({ status: 'temporary' })).expiresAtMs).toBeNull()
  })

  it('maps permanent to a permanent accept, with an expiry only when Meta sends one', () => {
    expect(record(body({ status: 'permanent' }))).toMatchObject({
      response: 'accept',
      isPermanent: true,
      expiresAtMs: null,
    })
    expect(record(body({ status: 'permanent', expiration_time: 1800000000 })).expiresAtMs).toBe(
      1800000000_000,
    )
  })

  it('keeps an unknown status as the response, never accept', () => {
    const r = record(body({ status: 'pending_review' }))
    expect(r.response).toBe('pending_review')
    expect(r.isPermanent).toBe(false)
  })

  it('never reads a status spelled accept as a grant', () => {
    expect(record(body({ status: 'accept', expiration_time: 1800000000 })).response).not.toBe('accept')
  })

  it('reads start_call as not performable when Meta lists no such action, or no actions at all', () => {
    expect(
      record(body({ status: 'permanent' }, [action('send_call_permission_request', true)])),
    ).toMatchObject({
      canPerformAction: false,
      retryAtMs: null,
    })
    expect(record({ permission: { status: 'permanent' } }).canPerformAction).toBe(false)
  })

  it('ignores unknown actions, even when they could be performed', () => {
    const r = record(
      body({ status: 'permanent' }, [action('start_video_call', true), action('start_call', false)]),
    )
    expect(r.canPerformAction).toBe(false)
    expect(r.canRequestPermission).toBeNull()
  })

  it('takes the stricter answer when start_call is listed twice', () => {
    const r = record(body({ status: 'permanent' }, [action('start_call', true), action('start_call', false)]))
    expect(r.canPerformAction).toBe(false)
  })

  it('gives the latest reset among exhausted start_call limits as retryAtMs', () => {
    const r = record(
      body({ status: 'permanent' }, [
        action('start_call', false, [
          { time_period: 'PT1H', max_allowed: 10, current_usage: 10, limit_expiration_time: 1800000100 },
          { time_period: 'PT24H', max_allowed: 100, current_usage: 100, limit_expiration_time: 1800050000 },
          { time_period: 'P7D', max_allowed: 500, current_usage: 20 },
        ]),
      ]),
    )
    expect(r.retryAtMs).toBe(1800050000_000)
  })

  it('gives no retryAtMs when start_call cannot be performed but no limit says when', () => {
    const r = record(
      body({ status: 'permanent' }, [
        action('start_call', false, [{ time_period: 'PT24H', max_allowed: 100, current_usage: 3 }]),
      ]),
    )
    expect(r.retryAtMs).toBeNull()
  })

  it('gives no retryAtMs when start_call can be performed, whatever its limits say', () => {
    const r = record(
      body({ status: 'permanent' }, [
        action('start_call', true, [{ time_period: 'PT24H', limit_expiration_time: 1800050000 }]),
      ]),
    )
    expect(r.retryAtMs).toBeNull()
  })

  it('never takes a reset from another action', () => {
    const r = record(
      body({ status: 'permanent' }, [
        action('start_call', false),
        action('send_call_permission_request', false, [
          { time_period: 'PT24H', limit_expiration_time: 1800050000 },
        ]),
      ]),
    )
    expect(r.retryAtMs).toBeNull()
    expect(r.canRequestPermission).toBe(false)
  })

  it('answers about the identity it was asked, a BSUID included', () => {
    expect(record(body({ status: 'permanent' }), 'US.13491208655302741918').user).toBe(
      'US.13491208655302741918',
    )
  })
})

describe('readGraphAnswer: bodies the gate refuses', () => {
  const cases: [string, unknown, string][] = [
    ['a missing permission', { messaging_product: 'whatsapp', actions: [] }, 'permission missing'],
    ['a missing status', { permission: {} }, 'permission.status missing'],
    [
      'an expiration_time as a string',
      body({ status: 'temporary', expiration_time: '1745343479' }),
      'permission.expiration_time has the wrong type',
    ],
    [
      'a negative expiration_time',
      body({ status: 'temporary', expiration_time: -1 }),
      'permission.expiration_time is out of range',
    ],
    [
      'an expiration_time in milliseconds',
      body({ status: 'temporary', expiration_time: 1745343479000 }),
      'permission.expiration_time is out of range',
    ],
    [
      'a fractional expiration_time',
      body({ status: 'temporary', expiration_time: 1745343479.5 }),
      'permission.expiration_time',
    ],
    [
      'actions that are not an array',
      body({ status: 'permanent' }, { start_call: true }),
      'actions has the wrong type',
    ],
    [
      'can_perform_action as a string',
      body({ status: 'permanent' }, [{ action_name: 'start_call', can_perform_action: 'true' }]),
      'actions[0].can_perform_action has the wrong type',
    ],
    [
      'a limit_expiration_time out of range',
      body({ status: 'permanent' }, [action('start_call', false, [{ limit_expiration_time: 99999999999 }])]),
      'actions[0].limits[0].limit_expiration_time is out of range',
    ],
    [
      'more than 20 actions',
      body(
        { status: 'permanent' },
        Array.from({ length: 21 }, () => action('start_call', true)),
      ),
      'actions has too many items',
    ],
    [
      'more than 10 limits',
      body({ status: 'permanent' }, [
        action(
          'start_call',
          true,
          Array.from({ length: 11 }, () => ({})),
        ),
      ]),
      'actions[0].limits has too many items',
    ],
    [
      'an action name over 50 characters',
      body({ status: 'permanent' }, [action('x'.repeat(51), true)]),
      'actions[0].action_name is too long',
    ],
    ['a status over 50 characters', body({ status: 'p'.repeat(51) }), 'permission.status is too long'],
    ['an array', [], 'the body has the wrong type'],
  ]

  it.each(cases)('refuses %s as an error naming the field', (_, value, field) => {
    const err = readError(200, value)
    expect(err.kind).toBe('error')
    expect(err.opts.status).toBe(200)
    expect(err.message).toContain(field)
    // The field, never its value.
    expect(err.message).not.toMatch(/\d{5,}/)
  })

  it('refuses a 200 that is not JSON', () => {
    const err = readError(200, '<html>oops</html>')
    expect(err.kind).toBe('error')
    expect(err.message).toBe('Meta answered with a body that is not JSON')
  })

  it('lets extra fields pass', () => {
    const value = { ...body({ status: 'permanent', note: 'x' }), paging: { next: 'x' } }
    expect(readGraphAnswer(200, undefined, JSON.stringify(value), NOW)).toEqual(value)
  })

  it('takes the largest ten-digit second and zero', () => {
    expect(record(body({ status: 'temporary', expiration_time: 9_999_999_999 })).expiresAtMs).toBe(
      9_999_999_999_000,
    )
    expect(record(body({ status: 'temporary', expiration_time: 0 })).expiresAtMs).toBe(0)
  })
})

describe('readGraphAnswer: error envelopes', () => {
  it('reads code 190 as auth_failed, whatever the HTTP status', () => {
    for (const status of [401, 400, 200]) {
      const err = readError(status, graphError(190))
      expect(err.kind).toBe('auth_failed')
      expect(err.message).toBe('Meta refused the access token (OAuthException, code 190)')
      expect(err.opts.status).toBe(status)
    }
  })

  it('reads a 401 without an envelope as auth_failed', () => {
    const err = readError(401, 'Unauthorized')
    expect(err.kind).toBe('auth_failed')
    expect(err.message).toBe('Meta refused the access token (HTTP 401)')
  })

  it('reads 613 with Retry-After as rate_limited with its seconds', () => {
    const err = readError(429, graphError(613), '7')
    expect(err.kind).toBe('rate_limited')
    expect(err.opts.retryAfterSeconds).toBe(7)
    expect(err.opts.status).toBe(429)
    expect(err.message).toBe('Meta rate-limited the gate (code 613)')
  })

  it('reads 613 without Retry-After as rate_limited with no hint', () => {
    const err = readError(400, graphError(613))
    expect(err.kind).toBe('rate_limited')
    expect(err.opts.retryAfterSeconds).toBeUndefined()
  })

  it('reads a bare 429 as rate_limited, with an HTTP-date Retry-After', () => {
    const err = readError(429, '', new Date(NOW + 30_000).toUTCString())
    expect(err.kind).toBe('rate_limited')
    expect(err.opts.retryAfterSeconds).toBe(30)
    expect(err.message).toBe('Meta rate-limited the gate (HTTP 429)')
  })

  it('reads a 400 with code 100 as an error naming status, type and code', () => {
    const err = readError(400, graphError(100, 'GraphMethodException', { error_subcode: 33 }))
    expect(err.kind).toBe('error')
    expect(err.opts.status).toBe(400)
    expect(err.message).toBe('Meta answered HTTP 400 (GraphMethodException, code 100)')
  })

  it('reads a 500 without a body as an error with its status', () => {
    const err = readError(500, '')
    expect(err.kind).toBe('error')
    expect(err.opts.status).toBe(500)
    expect(err.message).toBe('Meta answered HTTP 500')
  })

  it('never repeats Meta message, an odd type, or a code long enough to be a number', () => {
    const hostile = {
      error: { message: 'token EAAB123 for +919876543210', type: '+919876543210', code: 100 },
    }
    expect(readError(400, hostile).message).toBe('Meta answered HTTP 400 (code 100)')
    expect(readError(400, graphError(919876543210)).message).toBe('Meta answered HTTP 400')
  })
})

describe('readPhoneNumbersAnswer', () => {
  it('reads a page with its cursors', () => {
    const page = {
      data: [{ id: '106540352242922', display_phone_number: '+91 80000 00001', verified_name: 'Shop' }],
      paging: { cursors: { before: 'b', after: 'a' }, next: 'https://graph.facebook.com/...' },
    }
    expect(readPhoneNumbersAnswer(200, undefined, JSON.stringify(page), NOW)).toEqual(page)
  })

  it('refuses a page without data, and reads 190 as auth_failed', () => {
    const err = upstreamError(() => readPhoneNumbersAnswer(200, undefined, '{"paging":{}}', NOW))
    expect(err.message).toBe('Meta answered phone numbers the gate does not understand (data missing)')
    expect(
      upstreamError(() => readPhoneNumbersAnswer(401, undefined, JSON.stringify(graphError(190)), NOW)).kind,
    ).toBe('auth_failed')
  })
})

describe('toRecord over any well-formed body', () => {
  const epoch = fc.integer({ min: 0, max: 9_999_999_999 })
  const limit = fc.record(
    {
      time_period: fc.constantFrom('PT24H', 'P7D'),
      max_allowed: fc.nat(200),
      current_usage: fc.nat(200),
      limit_expiration_time: epoch,
    },
    { requiredKeys: ['time_period'] },
  )
  const actionArb = fc.record(
    {
      action_name: fc.oneof(
        fc.constantFrom('start_call', 'send_call_permission_request'),
        fc.string({ maxLength: 50 }),
      ),
      can_perform_action: fc.boolean(),
      limits: fc.array(limit, { maxLength: 10 }),
    },
    { requiredKeys: ['action_name', 'can_perform_action'] },
  )
  const bodyArb = fc.record(
    {
      permission: fc.record(
        {
          status: fc.oneof(
            fc.constantFrom('no_permission', 'temporary', 'permanent', 'accept', 'reject'),
            fc.string({ maxLength: 50 }),
          ),
          expiration_time: epoch,
        },
        { requiredKeys: ['status'] },
      ),
      actions: fc.array(actionArb, { maxLength: 20 }),
    },
    { requiredKeys: ['permission'] },
  )

  it('allows a call only as start_call says, and accepts only temporary or permanent', () => {
    fc.assert(
      fc.property(bodyArb, (value) => {
        const r = record(value)
        const starts = (value.actions ?? []).filter((a) => a.action_name === 'start_call')
        expect(r.canPerformAction).toBe(starts.length > 0 && starts.every((a) => a.can_perform_action))
        const granted = value.permission.status === 'temporary' || value.permission.status === 'permanent'
        expect(r.response === 'accept').toBe(granted)
        expect(r.isPermanent).toBe(value.permission.status === 'permanent')
        if (r.canPerformAction) expect(r.retryAtMs).toBeNull()
        if (value.permission.status === 'no_permission') expect(r.response).toBeNull()
      }),
    )
  })
})
