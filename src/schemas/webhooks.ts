import Type, { type Static } from 'typebox'
import { LATEST_EPOCH_SECONDS } from '../lib/iso-time.js'

// Bounds on everything read from a delivery: the body limit caps the total, these cap each part, so no value the
// gate keeps (in its memories, in Redis, in a log line) is larger than the field could honestly be.
/** Enum-like words: accept, user_action, interactive, messages, whatsapp_business_account... */
const WORD = { maxLength: 64 }
/** Message ids (`wamid.` and ~60 base64 characters today) and account ids. */
const ID = { maxLength: 256 }
/** Phone numbers: 15 digits with room for a + and any separators (parsePhone's own bound). */
const PHONE = { maxLength: 64 }
/** BSUIDs: `CC.ENT.` and 128 letters and digits at most; read by src/lib/identity.ts. */
const BSUID = { maxLength: 140 }

/** Epoch seconds of at most ten digits, as a string (Meta's samples) or a number: see LATEST_EPOCH_SECONDS. */
const EPOCH_SECONDS_STRING = { pattern: '^\\d{1,10}$' }
const EPOCH_SECONDS_NUMBER = { minimum: 0, maximum: LATEST_EPOCH_SECONDS }

/**
 * Meta's `messages` webhook value, as Kaleyra passes it through (`meta_object.value`) and as Meta sends it
 * (`entry[].changes[].value`). Only what the gate reads is required; anything else passes untouched.
 */
export const CallPermissionReply = Type.Object({
  response: Type.String({ ...WORD, description: 'accept or reject' }),
  is_permanent: Type.Optional(Type.Boolean()),
  expiration_timestamp: Type.Optional(
    Type.Union([Type.String(EPOCH_SECONDS_STRING), Type.Integer(EPOCH_SECONDS_NUMBER)], {
      description: 'epoch seconds (at most 9999999999), a string in Meta samples, a number in some SDKs',
    }),
  ),
  response_source: Type.Optional(Type.String(WORD)),
})

export const MetaMessage = Type.Object({
  id: Type.String({ minLength: 1, ...ID }),
  from: Type.Optional(
    Type.String({ ...PHONE, description: 'digits without +; absent for username (BSUID) users' }),
  ),
  from_user_id: Type.Optional(
    Type.String({
      ...BSUID,
      description: 'the BSUID (business-scoped user id); the only id of a username user',
    }),
  ),
  from_parent_user_id: Type.Optional(Type.String({ ...BSUID, description: 'the parent BSUID, if any' })),
  timestamp: Type.String({ ...EPOCH_SECONDS_STRING, description: 'epoch seconds (at most 9999999999)' }),
  type: Type.String(WORD),
  system: Type.Optional(
    Type.Object({
      type: Type.String({
        ...WORD,
        description: 'user_changed_number (or user_changed_user_id): an identity changed',
      }),
      new_wa_id: Type.Optional(Type.String(PHONE)),
      wa_id: Type.Optional(Type.String(PHONE)),
      user_id: Type.Optional(Type.String(BSUID)),
      new_user_id: Type.Optional(Type.String(BSUID)),
    }),
  ),
  interactive: Type.Optional(
    Type.Object({ type: Type.String(WORD), call_permission_reply: Type.Optional(CallPermissionReply) }),
  ),
})
export type MetaMessage = Static<typeof MetaMessage>

export const MessagesValue = Type.Object({
  metadata: Type.Object({ display_phone_number: Type.String(PHONE) }),
  messages: Type.Optional(Type.Array(MetaMessage, { maxItems: 1000 })),
})
export type MessagesValue = Static<typeof MessagesValue>

export const KaleyraCallback = Type.Object({
  meta_object: Type.Object({ value: MessagesValue, field: Type.Optional(Type.String(WORD)) }),
  extra_info: Type.Optional(Type.Object({}, { maxProperties: 100 })),
})
export type KaleyraCallback = Static<typeof KaleyraCallback>

export const MetaWebhook = Type.Object({
  object: Type.String(WORD),
  entry: Type.Array(
    Type.Object({
      id: Type.Optional(Type.String(ID)),
      changes: Type.Array(
        Type.Object({
          field: Type.String(WORD),
          value: Type.Object({}, { additionalProperties: true }),
        }),
        { maxItems: 100 },
      ),
    }),
    { maxItems: 100 },
  ),
})
export type MetaWebhook = Static<typeof MetaWebhook>

export const WebhookAnswer = Type.Object(
  {
    received: Type.Integer({ description: 'call_permission_reply messages in the delivery' }),
    applied: Type.Integer(),
    duplicates: Type.Integer({ description: 'already applied (at-least-once delivery)' }),
    outdated: Type.Integer({ description: 'older than what the gate holds for the pair: changed nothing' }),
    ignored: Type.Integer({ description: 'other message types' }),
    identity_changes: Type.Optional(
      Type.Integer({
        description:
          "number-change system messages: the old identities' links and cached consent were dropped",
      }),
    ),
  },
  { description: 'Acknowledged; each reply applied at most once.' },
)
export type WebhookAnswer = Static<typeof WebhookAnswer>

export const OutcomeItem = Type.Object({
  business: Type.String({ ...PHONE, description: 'E.164' }),
  user: Type.String({ ...BSUID, description: 'E.164, or the BSUID the call was placed to' }),
  outcome: Type.Union([
    Type.Literal('answered'),
    Type.Literal('unanswered'),
    Type.Literal('rejected'),
    Type.Literal('failed'),
  ]),
  error_code: Type.Optional(
    Type.Integer({
      // Meta's error codes are 32-bit integers.
      minimum: 0,
      maximum: 2_147_483_647,
      description: 'Meta error: 138006 evicts the pair, 138012 stores action_not_permitted',
    }),
  ),
  decision_id: Type.Optional(
    Type.String({ maxLength: 100, description: 'the decision the call was placed on' }),
  ),
})
export type OutcomeItem = Static<typeof OutcomeItem>

export const OutcomeBody = Type.Union([OutcomeItem, Type.Array(OutcomeItem, { minItems: 1, maxItems: 1000 })])

export const OutcomeAnswer = Type.Object({
  results: Type.Array(
    Type.Object({
      business: Type.String(),
      user: Type.String(),
      unanswered_streak: Type.Integer({ description: 'consecutive unanswered or rejected calls now' }),
      blocked: Type.Boolean({ description: 'checks of this pair now answer unanswered_streak' }),
    }),
  ),
})
