import { parsePhone } from '../lib/phone.js'

/** Meta addresses a business by its phone number ID: digits, as Graph writes ids. */
export const PHONE_NUMBER_ID = /^\d{1,32}$/
/** More entries than any portfolio holds is a pasted file, not a configuration. */
const MAX_ENTRIES = 1000

/**
 * META_PHONE_NUMBERS: `E164=PHONE_NUMBER_ID`, comma separated. Throws an Error naming the first bad entry by its
 * position (1-based), never by its text: a misplaced token must not end up in a log.
 */
export function parsePhoneNumberMap(value: string): Map<string, string> {
  const map = new Map<string, string>()
  if (value.trim() === '') return map
  const entries = value.split(',')
  if (entries.length > MAX_ENTRIES) throw new Error(`has more than ${MAX_ENTRIES} entries`)
  const entryOfId = new Map<string, number>()
  const entryOfNumber = new Map<string, number>()
  entries.forEach((entry, i) => {
    const at = `entry ${i + 1}`
    const parts = entry.split('=')
    if (parts.length !== 2) throw new Error(`${at} is not E164=PHONE_NUMBER_ID`)
    const phone = parsePhone(parts[0]!.trim())
    if (!phone.ok) throw new Error(`${at}: the number ${phone.why}`)
    const id = parts[1]!.trim()
    if (!PHONE_NUMBER_ID.test(id)) throw new Error(`${at}: the phone number ID must be 1 to 32 digits`)
    const known = map.get(phone.value)
    if (known !== undefined && known !== id)
      throw new Error(`${at} maps the number of entry ${entryOfNumber.get(phone.value)} to another ID`)
    // One ID for two numbers would ask Meta about one number's permissions for the other's checks.
    const owner = entryOfId.get(id)
    if (owner !== undefined && known === undefined)
      throw new Error(`${at} gives another number the phone number ID of entry ${owner}`)
    map.set(phone.value, id)
    entryOfId.set(id, entryOfId.get(id) ?? i + 1)
    entryOfNumber.set(phone.value, entryOfNumber.get(phone.value) ?? i + 1)
  })
  return map
}
