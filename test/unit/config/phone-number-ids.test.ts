import { describe, it, expect } from 'vitest'
import { parsePhoneNumberMap } from '../../../src/config/phone-number-ids.js'

const A = '+918000000001'
const B = '+918000000002'

describe('parsePhoneNumberMap', () => {
  it('reads E164=PHONE_NUMBER_ID entries, normalizing the numbers', () => {
    const map = parsePhoneNumberMap(' +91 80000-00001 = 106540352242922 ,+918000000002=2')
    expect([...map]).toEqual([
      [A, '106540352242922'],
      [B, '2'],
    ])
  })

  it('reads an empty value as no numbers', () => {
    expect(parsePhoneNumberMap('').size).toBe(0)
    expect(parsePhoneNumberMap('  ').size).toBe(0)
  })

  it('takes the same entry twice', () => {
    expect(parsePhoneNumberMap(`${A}=1,${A}=1`).size).toBe(1)
  })

  const bad: [string, string][] = [
    [`${A}=1,${B}`, 'entry 2 is not E164=PHONE_NUMBER_ID'],
    [`${A}=1=2`, 'entry 1 is not E164=PHONE_NUMBER_ID'],
    [`${A}=1,`, 'entry 2 is not E164=PHONE_NUMBER_ID'],
    ['918000000001=1', 'entry 1: the number must start with +'],
    [`${A}=1,+91abc=2`, 'entry 2: the number may only hold'],
    [`${A}=abc`, 'entry 1: the phone number ID must be 1 to 32 digits'],
    [`${A}=`, 'entry 1: the phone number ID must be 1 to 32 digits'],
    [`${A}=${'1'.repeat(33)}`, 'entry 1: the phone number ID must be 1 to 32 digits'],
    [`${A}=1,${B}=2,${A}=3`, 'entry 3 maps the number of entry 1 to another ID'],
    [`${A}=1,${B}=1`, 'entry 2 gives another number the phone number ID of entry 1'],
  ]

  it.each(bad)('refuses %s', (value, message) => {
    expect(() => parsePhoneNumberMap(value)).toThrow(message)
  })

  it('never repeats an entry text in its message', () => {
    const secret = 'EAABsbCS1iHgBAKZCZBZA'
    try {
      parsePhoneNumberMap(`${A}=1,${secret}`)
      expect.unreachable()
    } catch (err) {
      expect((err as Error).message).not.toContain(secret)
      expect((err as Error).message).not.toContain('8000000001')
    }
  })

  it('refuses more than 1000 entries', () => {
    const many = Array.from({ length: 1001 }, (_, i) => `+9180000${String(i).padStart(5, '0')}=${i + 1}`)
    expect(() => parsePhoneNumberMap(many.join(','))).toThrow('more than 1000 entries')
  })
})
