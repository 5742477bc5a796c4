import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { normalizeUpstreamPhone, parsePhone } from '../../../src/lib/phone.js'

const E164 = /^\+[1-9]\d{7,14}$/

/** The reason a number is refused; fails the test when the number is accepted. */
function whyRejected(raw: string): string {
  const parsed = parsePhone(raw)
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(raw)} to be rejected, got ${parsed.value}`)
  return parsed.why
}

describe('parsePhone', () => {
  it.each([
    ['spaces and a dash', '+91 98765-43210', '+919876543210'],
    ['parentheses', '+1 (415) 555-0100', '+14155550100'],
    ['dots', '+44.20.7946.0958', '+442079460958'],
    ['nothing to strip', '+919876543210', '+919876543210'],
    ['surrounding spaces', '  +919876543210  ', '+919876543210'],
    ['the fewest digits E.164 allows (8)', '+12345678', '+12345678'],
    ['the most digits E.164 allows (15)', '+123456789012345', '+123456789012345'],
  ])('accepts a number with %s', (_label, raw, value) => {
    expect(parsePhone(raw)).toEqual({ ok: true, value })
  })

  it.each([
    ['no leading +', '919876543210', /start with \+/],
    ['only 7 digits', '+1234567', /fewer than 8 digits/],
    ['16 digits', '+1234567890123456', /more than 15 digits/],
    ['a 0 right after the +', '+0919876543210', /must not start with 0/],
    ['a letter', '+91987654321O', /only hold a leading \+ and digits/],
    ['a comma (two numbers)', '+919876543210,+919876543211', /only hold a leading \+ and digits/],
    ['an & (a query string leaking in)', '+919876543210&user=1', /only hold a leading \+ and digits/],
    ['a second +', '+91+9876543210', /only hold a leading \+ and digits/],
    ['nothing at all', '', /empty/],
    ['only formatting', ' ( ) - . ', /empty/],
    ['more than 64 characters', `+91${' '.repeat(60)}9876543210`, /64/],
  ])('rejects a number with %s, saying why', (_label, raw, why) => {
    expect(whyRejected(raw)).toMatch(why)
  })

  it('hints at %2B when the number starts with a space, as a bare + decodes to one', () => {
    expect(whyRejected(' 919876543210')).toContain('%2B')
  })

  it('gives no %2B hint for a number that simply lacks its +', () => {
    expect(whyRejected('919876543210')).not.toContain('%2B')
  })
})

describe('normalizeUpstreamPhone', () => {
  it.each([
    ['a well-formed number', '+919876543210', '+919876543210'],
    ['a number without its +', '919876543210', '+919876543210'],
    ['spaces and dashes', '+91 98765-43210', '+919876543210'],
    ['no + and spaces', '91 98765 43210', '+919876543210'],
  ])('normalizes %s', (_label, raw, value) => {
    expect(normalizeUpstreamPhone(raw)).toBe(value)
  })

  it.each([
    ['empty', ''],
    ['letters', 'not a number'],
    ['too short', '12345'],
    ['a leading 0', '0919876543210'],
    ['two numbers', '+919876543210,+919876543211'],
  ])('gives up on %s', (_label, raw) => {
    expect(normalizeUpstreamPhone(raw)).toBeNull()
  })
})

const FORMATTING_CHARS = [' ', '-', '.', '(', ')']
/** Strings over the alphabet phone numbers are typed in, so acceptances are common enough to test. */
const phoneish = fc.string({ unit: fc.constantFrom(...'+0123456789', ...FORMATTING_CHARS), maxLength: 30 })
const validE164 = fc
  .tuple(
    fc.integer({ min: 1, max: 9 }),
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 7, maxLength: 14 }),
  )
  .map(([first, rest]) => `+${first}${rest}`)
/** A valid E.164 number, and the same number with formatting characters sprinkled after the +. */
const formattedE164 = validE164.chain((number) =>
  fc
    .array(fc.string({ unit: fc.constantFrom(...FORMATTING_CHARS), maxLength: 2 }), {
      minLength: number.length,
      maxLength: number.length,
    })
    .map((fills) => ({
      number,
      raw: `+${[...number.slice(1)].map((d, i) => `${fills[i] ?? ''}${d}`).join('')}${fills.at(-1) ?? ''}`,
    })),
)
const anyInput = fc.oneof(
  phoneish,
  formattedE164.map(({ raw }) => raw),
  fc.string({ maxLength: 80 }),
)
const forbidden = fc.oneof(
  fc.constantFrom(',', '&'),
  fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'),
  fc.constantFrom('é', 'ß', 'Ж', 'ا'),
)

describe('parsePhone (properties)', () => {
  it('normalizes whatever it accepts to strict E.164', () => {
    fc.assert(
      fc.property(anyInput, (raw) => {
        const parsed = parsePhone(raw)
        if (parsed.ok) expect(parsed.value).toMatch(E164)
      }),
    )
  })

  it('never accepts a string holding a letter, a comma or an &', () => {
    fc.assert(
      fc.property(phoneish, forbidden, phoneish, (before, bad, after) => {
        expect(parsePhone(`${before}${bad}${after}`).ok).toBe(false)
      }),
    )
  })

  it('ignores spaces, dashes, dots and parentheses inserted anywhere after the +', () => {
    fc.assert(
      fc.property(formattedE164, ({ number, raw }) => {
        expect(parsePhone(raw)).toEqual({ ok: true, value: number })
        expect(normalizeUpstreamPhone(raw)).toBe(number)
      }),
    )
  })

  it('always says why it rejects', () => {
    fc.assert(
      fc.property(anyInput, (raw) => {
        const parsed = parsePhone(raw)
        if (!parsed.ok) expect(parsed.why.trim()).not.toBe('')
      }),
    )
  })
})
