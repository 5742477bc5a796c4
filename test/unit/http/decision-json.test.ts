import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decisionJson } from '../../../src/http/decision-json.js'
import { DecisionReason, DecisionSource, type DecisionBody } from '../../../src/schemas/can-call.js'
import { isoTime } from '../../../src/lib/iso-time.js'

const e164 = fc.stringMatching(/^\+[1-9]\d{6,14}$/)
const bsuid = fc.stringMatching(/^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$/)
const iso = fc.integer({ min: 0, max: 253_402_300_799_999 }).map(isoTime)
const reason = fc.constantFrom<DecisionBody['reason']>(...DecisionReason.enum)
const consent = fc.option(
  fc.record({
    // Kaleyra's free-form strings: quotes, backslashes, control characters, non-BMP characters.
    response: fc.oneof(fc.constantFrom('accept', 'reject'), fc.string({ unit: 'binary' })),
    is_permanent: fc.boolean(),
    response_source: fc.oneof(fc.constantFrom('user_action', 'automatic'), fc.string({ unit: 'binary' })),
    can_perform_action: fc.boolean(),
    expires_at: fc.option(iso, { nil: null }),
  }),
  { nil: null },
)
const body: fc.Arbitrary<DecisionBody> = fc.record({
  allowed: fc.boolean(),
  reason,
  business: e164,
  user: fc.oneof(e164, bsuid),
  consent,
  retry_at: fc.option(iso, { nil: null }),
  can_request_permission: fc.option(fc.boolean(), { nil: null }),
  source: fc.constantFrom<DecisionBody['source']>(...DecisionSource.enum),
  checked_at: iso,
  decision_id: fc.uuid(),
})

describe('decisionJson', () => {
  it('writes exactly what JSON.stringify writes for any decision body, field order included', () => {
    fc.assert(
      fc.property(body, (b) => {
        expect(decisionJson(b)).toBe(JSON.stringify(b))
      }),
      { numRuns: 2000 },
    )
  })
})
