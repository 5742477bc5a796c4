import { invalidRequest } from '../../lib/errors.js'
import type { MessagesValue } from '../../schemas/webhooks.js'
import type { PermissionReply } from '../../consent/events/events.js'
import { normalizeUpstreamPhone } from '../../lib/phone.js'

/**
 * The `call_permission_reply` messages of one webhook value. Other message types, and replies from users
 * known only by a username (no `from`), are counted as ignored. A reply that cannot be read makes the whole
 * delivery invalid, so nothing of it is applied.
 */
export function permissionReplies(value: MessagesValue): { replies: PermissionReply[]; ignored: number } {
  const business = normalizeUpstreamPhone(value.metadata.display_phone_number)
  const replies: PermissionReply[] = []
  let ignored = 0
  for (const m of value.messages ?? []) {
    const reply =
      m.interactive?.type === 'call_permission_reply' ? m.interactive.call_permission_reply : undefined
    if (!reply || m.from === undefined) {
      ignored++
      continue
    }
    const user = normalizeUpstreamPhone(m.from)
    if (!business) throw invalidRequest('metadata.display_phone_number is not a phone number')
    if (!user) throw invalidRequest(`message ${m.id}: from is not a phone number`)
    replies.push({
      id: m.id,
      business,
      user,
      timestampMs: Number(m.timestamp) * 1000,
      response: reply.response,
      isPermanent: reply.is_permanent ?? false,
      expiresAtMs:
        reply.expiration_timestamp === undefined ? null : Number(reply.expiration_timestamp) * 1000,
      responseSource: reply.response_source ?? 'user_action',
    })
  }
  return { replies, ignored }
}
