import { describe, expect, it } from 'vitest'
import { businessOption, csvLayout, formatOf } from '../../../src/cli/precheck/format.js'

describe('formatOf', () => {
  it('takes --format first, then the extension, CSV by default', () => {
    expect(formatOf('leads.csv', 'ndjson')).toBe('ndjson')
    expect(formatOf('leads.NDJSON', undefined)).toBe('ndjson')
    expect(formatOf('leads.jsonl', undefined)).toBe('ndjson')
    expect(formatOf('leads.txt', undefined)).toBe('csv')
    expect(formatOf('-', undefined)).toBe('csv')
    expect(() => formatOf('x', 'json')).toThrow('--format must be csv or ndjson')
  })
})

describe('businessOption', () => {
  it('normalizes a good number and names what is wrong with a bad one', () => {
    expect(businessOption('+91 80000-00001')).toBe('+918000000001')
    expect(businessOption(undefined)).toBeUndefined()
    expect(() => businessOption('918000000001')).toThrow('--business: must start with +')
  })
})

describe('csvLayout', () => {
  it('finds user and business whatever their case and place', () => {
    expect(csvLayout(['lead', ' User ', 'BUSINESS'], undefined)).toEqual({ userIndex: 1, businessIndex: 2 })
    expect(csvLayout(['user'], '+918000000001')).toEqual({ userIndex: 0, businessIndex: undefined })
  })

  it.each([
    [['phone'], '+918000000001', 'no user column'],
    [['user'], undefined, 'no business column and no --business'],
    [['user', 'business'], '+918000000001', 'a business column and --business'],
    [['user', 'user', 'business'], undefined, '2 columns named user'],
    [['user', 'business', 'reason'], undefined, 'already has a column named reason'],
  ])('refuses the header %j (business %s): %s', (header, business, message) => {
    expect(() => csvLayout(header, business)).toThrow(message)
  })
})
