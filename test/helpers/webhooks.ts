import { createHmac } from 'node:crypto'
import { request } from 'undici'

export interface ReplyInput {
  id: string
  /** E.164; sent as Meta does, digits without + */
  user: string
  /** epoch ms; sent in seconds */
  at: number
  response: string
  permanent?: boolean
  /** epoch ms; sent in seconds as a string, or as a number */
  expiresAt?: number
  expiryAsNumber?: boolean
  source?: string
  /** from_user_id: the user's BSUID. */
  bsuid?: string
  /** from_parent_user_id. */
  parentBsuid?: string
  /** A username user: no `from` (the BSUID is the only id). */
  noFrom?: boolean
}

const digits = (e164: string) => e164.replace('+', '')

export function replyMessage(r: ReplyInput) {
  const seconds = r.expiresAt === undefined ? undefined : Math.floor(r.expiresAt / 1000)
  return {
    ...(!r.noFrom && { from: digits(r.user) }),
    ...(r.bsuid !== undefined && { from_user_id: r.bsuid }),
    ...(r.parentBsuid !== undefined && { from_parent_user_id: r.parentBsuid }),
    id: r.id,
    timestamp: String(Math.floor(r.at / 1000)),
    type: 'interactive',
    interactive: {
      type: 'call_permission_reply',
      call_permission_reply: {
        response: r.response,
        is_permanent: r.permanent ?? false,
        ...(seconds !== undefined && { expiration_timestamp: r.expiryAsNumber ? seconds : String(seconds) }),
        response_source: r.source ?? 'user_action',
      },
    },
  }
}

/** A permanent accept naming the number (USER of the tests) and the BSUID: the reply that links them. */
export function linkingReply(
  id: string,
  at: number,
  user = '+919000000001',
  bsuid = 'IN.13491208655302741918',
) {
  return replyMessage({ id, user, bsuid, at, response: 'accept', permanent: true })
}

/** Meta's system message for a number change: `from` is the old number. */
export function numberChangeMessage(c: {
  id: string
  oldUser: string
  newUser: string
  at: number
  bsuid?: string
}) {
  return {
    from: digits(c.oldUser),
    ...(c.bsuid !== undefined && { from_user_id: c.bsuid }),
    id: c.id,
    timestamp: String(Math.floor(c.at / 1000)),
    type: 'system',
    system: {
      body: 'User changed from one number to another',
      new_wa_id: digits(c.newUser),
      type: 'user_changed_number',
    },
  }
}

export function messagesValue(business: string, messages: unknown[]) {
  return {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: digits(business), phone_number_id: '1234567890' },
    contacts: [],
    messages,
  }
}

/** Kaleyra's v2 incoming-message callback: Meta's value passed through, plus extra_info. */
export function kaleyraBody(business: string, messages: unknown[]) {
  return {
    meta_object: { value: messagesValue(business, messages), field: 'messages' },
    extra_info: { waba_id: '1111', trace_id: 'trace-1' },
  }
}

/** Meta's own delivery envelope. */
export function metaBody(business: string, messages: unknown[]) {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: '1111', changes: [{ field: 'messages', value: messagesValue(business, messages) }] }],
  }
}

export const sign = (raw: string, secret: string) =>
  `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`

export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body)
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw,
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: text.startsWith('{') ? JSON.parse(text) : text }
}
