import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { graphUserParam, isBsuid, parseUser, requireUser } from '../../../src/lib/identity.js'
import { GateError } from '../../../src/lib/errors.js'

const bsuid = fc.stringMatching(/^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$/)

describe('parseUser', () => {
  it.each([
    ['US.13491208655302741918', 'bsuid'],
    ['US.ENT.13491208655302741918', 'bsuid'],
    ['IN.a', 'bsuid'],
    [`BR.${'x'.repeat(128)}`, 'bsuid'],
    ['+919876543210', 'phone'],
  ])('accepts %s as a %s', (raw, kind) => {
    expect(parseUser(raw)).toEqual({ ok: true, value: raw, kind })
  })

  it('normalizes a formatted number as parsePhone does', () => {
    expect(parseUser('+91 98765-43210')).toEqual({ ok: true, value: '+919876543210', kind: 'phone' })
  })

  it.each([
    ['us.123', 'is not a BSUID'],
    ['USA.123', 'may only hold'],
    ['U.123', 'may only hold'],
    ['US.', 'is not a BSUID'],
    ['US.12-34', 'is not a BSUID'],
    ['US.ENT.', 'is not a BSUID'],
    [`US.${'x'.repeat(129)}`, 'is not a BSUID'],
    ['US.12 34', 'is not a BSUID'],
    ['abc', 'may only hold'],
    ['', 'is empty'],
  ])('refuses %j, saying why', (raw, why) => {
    const parsed = parseUser(raw)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.why).toContain(why)
  })

  it('accepts every BSUID of the documented shape, and keeps it as written', () => {
    fc.assert(
      fc.property(bsuid, (b) => {
        expect(parseUser(b)).toEqual({ ok: true, value: b, kind: 'bsuid' })
        expect(isBsuid(b)).toBe(true)
      }),
    )
  })

  it('never takes a normalized number for a BSUID', () => {
    fc.assert(fc.property(fc.stringMatching(/^\+[1-9]\d{7,14}$/), (n) => !isBsuid(n)))
  })
})

describe('requireUser', () => {
  it('throws a 400 that names the parameter and both accepted shapes', () => {
    const err = (() => {
      try {
        requireUser('user', 'US.not-a-bsuid')
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(GateError)
    expect((err as GateError).message).toMatch(/^user is not a BSUID.*E\.164.*US\.13491208655302741918/)
  })
})

describe('graphUserParam', () => {
  it('asks Meta by user_wa_id (digits, no +) for a number and by recipient for a BSUID', () => {
    expect(graphUserParam('+919876543210')).toBe('user_wa_id=919876543210')
    expect(graphUserParam('US.ENT.134912')).toBe('recipient=US.ENT.134912')
  })
})
