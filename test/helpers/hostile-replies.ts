import fc from 'fast-check'
import { BUSINESS, T0 } from './gate.js'
import { EXTREMES } from './json-mutations.js'
import { kaleyraBody, metaBody } from './webhooks.js'

/** The users replies are about: the fuzzer checks each one after its reply, so state carries across runs. */
export const REPLY_USERS = ['+919000000011', '+919000000012', '+919000000013']

const T0_SECONDS = Math.floor(T0 / 1000)

/** Epoch seconds as Meta sends them (a string or a number, near T0), or anything else a field could hold. */
const epochSeconds = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: T0_SECONDS - 30 * 86_400, max: T0_SECONDS + 30 * 86_400 }) },
  { weight: 2, arbitrary: fc.integer({ min: T0_SECONDS, max: 2 ** 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(...EXTREMES) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
)
/** As a string half of the time, when it is a number. */
const epochField = fc
  .tuple(epochSeconds, fc.boolean())
  .map(([v, asString]) => (asString && typeof v === 'number' ? String(v) : v))

const text = (usual: string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...usual) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
    { weight: 1, arbitrary: fc.constantFrom(...EXTREMES) },
  )

/** A delivery of one call_permission_reply whose every field may be valid, odd or absurd, and where it goes. */
export const hostileReply = fc
  .record({
    via: fc.constantFrom('kaleyra', 'meta'),
    user: fc.constantFrom(...REPLY_USERS),
    // Mostly new ids: a repeated one is a duplicate, and changes nothing.
    id: fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: text(['wamid.1']) }),
    timestamp: epochField,
    type: text(['interactive']),
    interactiveType: text(['call_permission_reply']),
    response: text(['accept', 'reject']),
    is_permanent: fc.oneof(fc.boolean(), fc.constantFrom(...EXTREMES)),
    expiration_timestamp: fc.option(epochField, { nil: undefined }),
    response_source: fc.option(text(['user_action', 'automatic']), { nil: undefined }),
  })
  .map((r) => {
    const message = {
      from: r.user.slice(1),
      id: r.id,
      timestamp: r.timestamp,
      type: r.type,
      interactive: {
        type: r.interactiveType,
        call_permission_reply: {
          response: r.response,
          is_permanent: r.is_permanent,
          expiration_timestamp: r.expiration_timestamp,
          response_source: r.response_source,
        },
      },
    }
    // JSON.stringify drops the absent (undefined) fields.
    const body = r.via === 'kaleyra' ? kaleyraBody(BUSINESS, [message]) : metaBody(BUSINESS, [message])
    return { via: r.via, user: r.user, raw: JSON.stringify(body) }
  })
