import { invalidRequest } from './errors.js'
import { E164, parsePhone } from './phone.js'

/**
 * A business-scoped user id (Meta, 2026): a two-letter country code, a dot, then 1 to 128 letters and digits; a
 * parent BSUID has `ENT.` after the country code (`US.ENT.…`). Case matters: Meta writes the country in capitals.
 */
const BSUID = /^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$/

/** Whether a user identity is a BSUID (anything else the gate holds is a normalized E.164 number). */
export const isBsuid = (user: string): boolean => user.charCodeAt(0) !== 43 /* + */ && BSUID.test(user)

export type UserParse = { ok: true; value: string; kind: 'phone' | 'bsuid' } | { ok: false; why: string }

/**
 * Whether a user is written exactly as the gate keeps it (a normalized number or a BSUID), so it needs no parse: the
 * hot path's test, which allocates nothing. Anything else goes through parseUser(), which normalizes or says why not.
 */
export const isKeptUser = (raw: string): boolean => E164.test(raw) || BSUID.test(raw)

/** A user: an E.164 number (normalized as parsePhone does) or a BSUID (kept as written), or why it is neither. */
export function parseUser(raw: string): UserParse {
  // A number first: every check of a number (nearly all of them) reads it on the hot path.
  const phone = parsePhone(raw)
  if (phone.ok) return { ok: true, value: phone.value, kind: 'phone' }
  if (BSUID.test(raw)) return { ok: true, value: raw, kind: 'bsuid' }
  // Something that looks meant as a BSUID gets the BSUID's rule, not the phone number's.
  if (/^[A-Za-z]{2}\./.test(raw))
    return {
      ok: false,
      why: 'is not a BSUID: two capital letters, a dot, optionally ENT. and a dot, then 1 to 128 letters and digits',
    }
  return { ok: false, why: phone.why }
}

/** The user of a request parameter, or a 400 that names the parameter and says what is wrong. */
export function requireUser(name: string, raw: string): string {
  const parsed = parseUser(raw)
  if (!parsed.ok)
    throw invalidRequest(
      `${name} ${parsed.why}; expected E.164 such as +919876543210 or a BSUID such as US.13491208655302741918`,
    )
  return parsed.value
}

/** Meta's own spelling of a user for its permission query: digits without + for a number, or the BSUID. */
export function graphUserParam(user: string): string {
  return isBsuid(user)
    ? `recipient=${encodeURIComponent(user)}`
    : `user_wa_id=${encodeURIComponent(user.replace(/^\+/, ''))}`
}
