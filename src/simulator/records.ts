import { AUTH_FAILED, NOT_ALLOWED, badRequest, successReply, type Reply } from './replies.js'
import type { KaleyraSimulatorOptions, SimConsent, SimRequest, SimState } from './types.js'
import type { KaleyraPermissionRecord } from '../upstream/kaleyra/wire.js'
import { isBsuid } from '../lib/identity.js'
import { spaced } from './format.js'

const MAX_PAGE_SIZE = 100
const MAX_UNRELATED = 2

const matches = (c: SimConsent, q: SimRequest): boolean =>
  (q.business.length === 0 || q.business.includes(c.business)) &&
  (q.user.length === 0 || q.user.includes(c.user))

// Truncation drops the milliseconds the API never shows.
const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

function toWire(c: SimConsent, numberFormat: 'e164' | 'spaced'): KaleyraPermissionRecord {
  const format = numberFormat === 'spaced' ? spaced : (n: string) => n
  const base = {
    business_phone_number: format(c.business),
    user_phone_number: format(c.user),
    can_perform_action: c.can_perform_action,
    response: c.response,
    is_permanent: c.is_permanent,
    response_source: c.response_source ?? 'user_action',
  }
  const expiry = c.expiresAt == null ? null : isoSeconds(c.expiresAt)
  return c.expiryField === 'expiration_time_stamp'
    ? { ...base, expiration_time_stamp: expiry }
    : { ...base, expiration_timestamp: expiry }
}

function success(stored: SimConsent[], q: SimRequest, opts: KaleyraSimulatorOptions): Reply {
  const matching = stored.filter((c) => matches(c, q))
  if (opts.order === 'reversed') matching.reverse()
  const limit = Math.min(q.limit, opts.maxPageSize ?? MAX_PAGE_SIZE)
  const page = matching.slice(q.offset, q.offset + limit)
  // One unrelated record before the page and one after, so neither data[0] nor the last record is safe to trust.
  const unrelated =
    opts.includeUnrelated && page.length > 0
      ? stored.filter((c) => !matches(c, q)).slice(0, MAX_UNRELATED)
      : []
  const data = [...unrelated.slice(0, 1), ...page, ...unrelated.slice(1)].map((c) =>
    toWire(c, opts.numberFormat ?? 'e164'),
  )
  return successReply(data, { limit, offset: q.offset, total: matching.length })
}

/** What a healthy Kaleyra answers to one request, when no fault is set. */
export function answer(method: string | undefined, pathSid: string, q: SimRequest, sim: SimState): Reply {
  if (method !== 'GET') return NOT_ALLOWED
  if (!q.apiKeyOk || pathSid !== sim.sid) return AUTH_FAILED
  if (Number.isNaN(q.limit)) return badRequest('limit must be a non-negative integer')
  if (Number.isNaN(q.offset)) return badRequest('offset must be a non-negative integer')
  // Kaleyra keys permissions by phone number: a user known only by a BSUID is Meta's alone.
  const phoneUsers = [...sim.store.values()].filter((c) => !isBsuid(c.user))
  return success(phoneUsers, q, sim.opts)
}
