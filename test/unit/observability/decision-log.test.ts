import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decisionLineWriter, maskNumber } from '../../../src/observability/decision-log.js'
import { createLogger } from '../../../src/observability/logger.js'

/** A logger as the gate makes it, writing into an array. */
function capture(level = 'info') {
  const lines: string[] = []
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) })
  return { log: logger.child({ module: 'decision' }), lines }
}

const sameTime = (line: string) => line.replace(/"time":\d+/, '"time":0')

describe('decisionLineWriter', () => {
  it('writes exactly the line pino writes for the same fields', () => {
    const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined })
    fc.assert(
      fc.property(
        fc.record({
          decision_id: optional(fc.uuid()),
          allowed: fc.boolean(),
          reason: fc.oneof(fc.constantFrom('consent_granted', 'invalid_request'), fc.string()),
          message: fc.string(),
        }),
        fc.constantFrom('cache', 'upstream', 'event', 'stale', 'none'),
        optional(fc.stringMatching(/^\+[1-9]\d{6,14}$/)),
        optional(fc.oneof(fc.stringMatching(/^\*\*\*\d{4}$/), fc.string())),
        optional(fc.nat(100_000)),
        (body, source, business, user, upstreamMs) => {
          const ours = capture()
          const theirs = capture()
          decisionLineWriter(ours.log)(
            body.decision_id,
            body.allowed,
            body.reason,
            source,
            business,
            user,
            upstreamMs,
          )
          theirs.log.info(
            {
              decision_id: body.decision_id,
              allowed: body.allowed,
              reason: body.reason,
              source,
              business,
              user,
              upstream_ms: upstreamMs,
            },
            'decision',
          )
          expect(ours.lines.map(sameTime)).toEqual(theirs.lines.map(sameTime))
        },
      ),
      { numRuns: 1000 },
    )
  })

  it('writes nothing above info, as pino would', () => {
    const { log, lines } = capture('warn')
    decisionLineWriter(log)('x', true, 'consent_granted', 'cache', '+1', '+2', 1)
    expect(lines).toEqual([])
  })
})

describe('maskNumber', () => {
  it('keeps the last four characters of a number, and the country and last four of a BSUID', () => {
    expect(maskNumber('+919876543210')).toBe('***3210')
    expect(maskNumber('US.13491208655302741918')).toBe('US.***1918')
    expect(maskNumber('US.ENT.13491208655302741918')).toBe('US.***1918')
  })

  it('never shows more than the country and four characters of a BSUID, and nothing of a short one', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$/), (bsuid) => {
        const masked = maskNumber(bsuid)
        const id = bsuid.slice(bsuid.lastIndexOf('.') + 1)
        expect(masked).toBe(`${bsuid.slice(0, 3)}***${id.length > 8 ? id.slice(-4) : ''}`)
        expect(masked.length).toBeLessThanOrEqual(10)
      }),
    )
    expect(maskNumber('US.12')).toBe('US.***')
  })
})
