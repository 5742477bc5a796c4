import { describe, expect, it } from 'vitest'
import { UpstreamError, isPerBusinessFailure, toUpstreamError } from '../../../src/upstream/errors.js'
import { readEnvelope } from '../../../src/upstream/kaleyra/client.js'

const NOW = Date.UTC(2026, 10, 25)
const thrown = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('did not throw')
}

describe('isPerBusinessFailure', () => {
  it('is true when Kaleyra answered with a failure: HTTP 5xx or 4xx, a body that is not JSON, a code other than WA200', () => {
    for (const [status, body] of [
      [500, '{}'],
      [400, '{"code":"E400","message":"bad business_phone_number"}'],
      [200, 'not json'],
      [200, '{"code":"E123","message":"x","data":[]}'],
    ] as const) {
      expect(
        isPerBusinessFailure(thrown(() => readEnvelope(status, undefined, body, NOW))),
        `${status} ${body}`,
      ).toBe(true)
    }
  })

  it('is false for what is Kaleyra’s state, not one business’s: 429, RBC001, timeouts, connection failures', () => {
    const rateLimited = thrown(() => readEnvelope(429, '1', '{}', NOW))
    const authFailed = thrown(() => readEnvelope(401, undefined, '{"code":"RBC001"}', NOW))
    const refused = toUpstreamError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))
    const reset = toUpstreamError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))
    const timeout = toUpstreamError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))
    for (const err of [
      rateLimited,
      authFailed,
      refused,
      reset,
      timeout,
      new UpstreamError('circuit_open', 'x'),
    ])
      expect(isPerBusinessFailure(err), String(err)).toBe(false)
  })
})
