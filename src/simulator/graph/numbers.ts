import { parsePhone } from '../../lib/phone.js'
import type { MetaState, SimState } from '../types.js'

/**
 * The phone number id Meta's API knows a business number by, unless the options name another: '1' and the
 * digits, so a test or the demo can compute it without asking.
 */
export const simPhoneNumberId = (business: string): string => `1${business.replace(/\D/g, '')}`

export const phoneNumberIdOf = (meta: MetaState, business: string): string =>
  meta.ids.get(business) ?? simPhoneNumberId(business)

/**
 * The E.164 number a phone number id stands for, or undefined when Meta would not know the id. A derived id
 * stands for any valid number, seeded or not, so a test that starts empty can still ask (and get no_permission);
 * only a number configured under another id has no derived one.
 */
export function numberOfId(meta: MetaState, id: string): string | undefined {
  const configured = meta.numbers.get(id)
  if (configured !== undefined) return configured
  if (!/^1\d+$/.test(id)) return undefined
  const e164 = `+${id.slice(1)}`
  return parsePhone(e164).ok && !meta.ids.has(e164) ? e164 : undefined
}

/** The numbers the WABA lists: the configured ones first, then every business in the store, each once. */
export function listedNumbers(sim: SimState): string[] {
  const all = new Set(sim.meta.ids.keys())
  for (const c of sim.store.values()) all.add(c.business)
  return [...all]
}
