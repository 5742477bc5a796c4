import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decisionBody, decisionJson } from '../../../src/http/decision-json.js'
import { DecisionReason, DecisionSource } from '../../../src/schemas/can-call.js'
import type { Decision } from '../../../src/consent/decide.js'

const e164 = fc.stringMatching(/^\+[1-9]\d{6,14}$/)
const bsuid = fc.stringMatching(/^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$/)
// Whole milliseconds of the years isoTime writes itself, fractions and times past them (which go through Date).
const epochMs = fc.oneof(
  fc.integer({ min: 0, max: 253_402_300_799_999 }),
  fc.double({ min: -1e15, max: 1e15, noNaN: true }),
)
const decision: fc.Arbitrary<Decision> = fc.record(
  {
    origin: fc.constantFrom<Decision['origin']>('upstream', 'event'),
    allowed: fc.boolean(),
    reason: fc.constantFrom(...DecisionReason.enum),
    // The upstream's free-form strings: quotes, backslashes, control characters, non-BMP characters.
    response: fc.option(fc.oneof(fc.constantFrom('accept', 'reject'), fc.string({ unit: 'binary' })), {
      nil: null,
    }),
    isPermanent: fc.boolean(),
    responseSource: fc.oneof(fc.constantFrom('user_action', 'automatic', ''), fc.string({ unit: 'binary' })),
    canPerformAction: fc.boolean(),
    checkedAtMs: epochMs,
    expiresAtMs: fc.option(epochMs, { nil: null }),
    retryAtMs: fc.option(epochMs, { nil: null }),
    canRequestPermission: fc.option(fc.boolean(), { nil: null }),
  },
  // Decisions from older gates (bus, Redis) lack the two newest fields.
  {
    requiredKeys: [
      'origin',
      'allowed',
      'reason',
      'response',
      'isPermanent',
      'responseSource',
      'canPerformAction',
      'checkedAtMs',
      'expiresAtMs',
    ],
  },
)

describe('decisionJson', () => {
  it('writes exactly what JSON.stringify writes of the decision body, field order included', () => {
    fc.assert(
      fc.property(
        decision,
        fc.constantFrom(...DecisionSource.enum),
        e164,
        fc.oneof(e164, bsuid),
        fc.uuid(),
        (d, source, business, user, id) => {
          expect(decisionJson(d, source, business, user, id)).toBe(
            JSON.stringify(decisionBody(d, source, business, user, id)),
          )
        },
      ),
      { numRuns: 2000 },
    )
  })
})
