import { invalidRequest } from './errors.js'

/** E.164: a leading +, then 8 to 15 digits, the first not 0. Formatting characters are ignored. */
const FORMATTING = /[\s().-]/g
/** A normalized number: what the gate keeps, and checks again whatever it reads back from Redis. */
export const E164 = /^\+[1-9]\d{7,14}$/

export type PhoneParse = { ok: true; value: string } | { ok: false; why: string }

/**
 * Normalizes a phone number to E.164, or says why it is not one.
 * Spaces, dashes, dots and parentheses are ignored; anything else (letters, commas, `&`) is rejected.
 */
export function parsePhone(raw: string): PhoneParse {
  if (E164.test(raw)) return { ok: true, value: raw }
  if (raw.length > 64) return { ok: false, why: 'is longer than 64 characters' }
  const compact = raw.replace(FORMATTING, '')
  if (E164.test(compact)) return { ok: true, value: compact }
  if (compact === '') return { ok: false, why: 'is empty' }
  if (/[^\d+]/.test(compact) || compact.lastIndexOf('+') > 0) {
    return {
      ok: false,
      why: 'may only hold a leading + and digits (spaces, dashes, dots and parentheses are ignored)',
    }
  }
  if (/^\s/.test(raw) && /^\d/.test(compact)) {
    return { ok: false, why: 'must start with + (a bare + in a query string decodes to a space: send %2B)' }
  }
  if (!compact.startsWith('+')) return { ok: false, why: 'must start with +' }
  const rest = compact.slice(1)
  if (rest.startsWith('0'))
    return { ok: false, why: 'must not start with 0 after the + (the country code comes first)' }
  if (rest.length < 8) return { ok: false, why: 'has fewer than 8 digits' }
  return { ok: false, why: 'has more than 15 digits' }
}

/** Lenient normalization for numbers Kaleyra or Meta send (spaces, missing +). Returns null when hopeless. */
export function normalizeUpstreamPhone(raw: string): string | null {
  const compact = raw.replace(FORMATTING, '')
  const withPlus = compact.startsWith('+') ? compact : `+${compact}`
  return E164.test(withPlus) ? withPlus : null
}

/** The normalized number of a request parameter, or a 400 that names the parameter and says what is wrong. */
export function requirePhone(name: string, raw: string): string {
  const parsed = parsePhone(raw)
  if (!parsed.ok) throw invalidRequest(`${name} ${parsed.why}; expected E.164 such as +919876543210`)
  return parsed.value
}
