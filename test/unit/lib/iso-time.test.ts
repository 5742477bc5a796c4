import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isoTime } from '../../../src/lib/iso-time.js'

const LAST = 253_402_300_799_999

describe('isoTime', () => {
  it('formats every whole millisecond from 1970 to 9999 as Date#toISOString does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: LAST }), (ms) => {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString())
      }),
      { numRuns: 20_000 },
    )
  })

  it('gets the calendar edges right: leap days, century years, ends of years and of the range', () => {
    const edges = [
      '1970-01-01T00:00:00.000Z',
      '1972-02-29T23:59:59.999Z',
      '2000-02-29T12:00:00.000Z',
      '2100-03-01T00:00:00.000Z',
      '2026-12-31T23:59:59.999Z',
      '2027-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ]
    for (const iso of edges) expect(isoTime(Date.parse(iso))).toBe(iso)
  })

  it('leaves what it does not cover to Date: before 1970, fractions', () => {
    for (const ms of [-1, -86_400_001, 1.5]) expect(isoTime(ms)).toBe(new Date(ms).toISOString())
  })

  it('never throws: past year 9999, beyond what Date holds, or not a number, it clamps to years 0000 to 9999', () => {
    const last = '9999-12-31T23:59:59.999Z'
    const first = '0000-01-01T00:00:00.000Z'
    for (const ms of [LAST + 1, 1e16, 1e300, Infinity]) expect(isoTime(ms)).toBe(last)
    for (const ms of [-1e16, -Infinity, NaN]) expect(isoTime(ms)).toBe(first)
  })
})
