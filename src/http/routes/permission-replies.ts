import { invalidRequest } from '../../lib/errors.js'
import type { MessagesValue } from '../../schemas/webhooks.js'
import type { PermissionReply } from '../../consent/events/events.js'
import { normalizeUpstreamPhone } from '../../lib/phone.js'
import { isBsuid } from '../../lib/identity.js'

/** A user's identities changed (Meta's number-change system message): what the gate knew under the old ones goes. */
export interface IdentityChange {
  /** The message id: deliveries repeat. */
  id: string
  business: string
  /** The old identities: the number and BSUIDs the message came from. */
  identities: string[]
}

/** System messages that mean "this user's number (and so their BSUID) changed". */
const IDENTITY_CHANGES = new Set(['user_changed_number', 'user_changed_user_id'])

/**
 * The `call_permission_reply` messages of one webhook value, and its number-change system messages. A reply from a
 * username user (no `from`) is kept under its BSUID (`from_user_id`); one with both carries the BSUIDs, which the
 * events link to the number. Other message types are counted as ignored. A reply that cannot be read makes the
 * whole delivery invalid, so nothing of it is applied.
 */
export function permissionReplies(value: MessagesValue): {
  replies: PermissionReply[]
  changes: IdentityChange[]
  ignored: number
} {
  const business = normalizeUpstreamPhone(value.metadata.display_phone_number)
  const replies: PermissionReply[] = []
  const changes: IdentityChange[] = []
  let ignored = 0
  for (const m of value.messages ?? []) {
    const reply =
      m.interactive?.type === 'call_permission_reply' ? m.interactive.call_permission_reply : undefined
    const change = m.type === 'system' && IDENTITY_CHANGES.has(m.system?.type ?? '')
    if (!reply && !change) {
      ignored++
      continue
    }
    if (!business) throw invalidRequest('metadata.display_phone_number is not a phone number')
    const phone = m.from === undefined ? undefined : normalizeUpstreamPhone(m.from)
    if (m.from !== undefined && !phone) throw invalidRequest(`message ${m.id}: from is not a phone number`)
    const bsuids = [m.from_user_id, m.from_parent_user_id].filter((b): b is string => b !== undefined)
    // A BSUID that is not one cannot be keyed or linked: with a number the reply stands on it, without one it is
    // unreadable (never dropped silently).
    const bad = bsuids.find((b) => !isBsuid(b))
    if (bad !== undefined && !phone)
      throw invalidRequest(`message ${m.id}: from_user_id or from_parent_user_id is not a BSUID`)
    const readable = bsuids.filter(isBsuid)
    const user = phone ?? readable[0]
    if (user === undefined) throw invalidRequest(`message ${m.id}: neither from nor from_user_id is present`)
    if (change) {
      changes.push({ id: m.id, business, identities: [user, ...readable.filter((b) => b !== user)] })
      continue
    }
    if (!reply) continue
    replies.push({
      id: m.id,
      business,
      user,
      ...(readable.length > 0 && { bsuids: readable.filter((b) => b !== user) }),
      timestampMs: Number(m.timestamp) * 1000,
      response: reply.response,
      isPermanent: reply.is_permanent ?? false,
      expiresAtMs:
        reply.expiration_timestamp === undefined ? null : Number(reply.expiration_timestamp) * 1000,
      responseSource: reply.response_source ?? 'user_action',
    })
  }
  return { replies, changes, ignored }
}
