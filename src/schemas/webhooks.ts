import Type, { type Static } from 'typebox'

/**
 * Meta's `messages` webhook value, as Kaleyra passes it through (`meta_object.value`) and as Meta sends it
 * (`entry[].changes[].value`). Only what the gate reads is required; anything else passes untouched.
 */
export const CallPermissionReply = Type.Object({
  response: Type.String({ description: 'accept or reject' }),
  is_permanent: Type.Optional(Type.Boolean()),
  expiration_timestamp: Type.Optional(
    Type.Union([Type.String({ pattern: '^\\d{1,12}$' }), Type.Integer({ minimum: 0 })], {
      description: 'epoch seconds, a string in Meta samples, a number in some SDKs',
    }),
  ),
  response_source: Type.Optional(Type.String()),
})

export const MetaMessage = Type.Object({
  id: Type.String({ minLength: 1 }),
  from: Type.Optional(Type.String({ description: 'digits without +; absent for username (BSUID) users' })),
  timestamp: Type.String({ pattern: '^\\d{1,12}$', description: 'epoch seconds' }),
  type: Type.String(),
  interactive: Type.Optional(
    Type.Object({ type: Type.String(), call_permission_reply: Type.Optional(CallPermissionReply) }),
  ),
})
export type MetaMessage = Static<typeof MetaMessage>

export const MessagesValue = Type.Object({
  metadata: Type.Object({ display_phone_number: Type.String() }),
  messages: Type.Optional(Type.Array(MetaMessage, { maxItems: 1000 })),
})
export type MessagesValue = Static<typeof MessagesValue>

export const KaleyraCallback = Type.Object({
  meta_object: Type.Object({ value: MessagesValue, field: Type.Optional(Type.String()) }),
  extra_info: Type.Optional(Type.Object({})),
})
export type KaleyraCallback = Static<typeof KaleyraCallback>

export const MetaWebhook = Type.Object({
  object: Type.String(),
  entry: Type.Array(
    Type.Object({
      id: Type.Optional(Type.String()),
      changes: Type.Array(
        Type.Object({ field: Type.String(), value: Type.Object({}, { additionalProperties: true }) }),
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
    ignored: Type.Integer({ description: 'other message types, or users without a phone number' }),
  },
  { description: 'Acknowledged; each reply applied at most once.' },
)
export type WebhookAnswer = Static<typeof WebhookAnswer>

export const OutcomeItem = Type.Object({
  business: Type.String({ description: 'E.164' }),
  user: Type.String({ description: 'E.164' }),
  outcome: Type.Union([
    Type.Literal('answered'),
    Type.Literal('unanswered'),
    Type.Literal('rejected'),
    Type.Literal('failed'),
  ]),
  error_code: Type.Optional(
    Type.Integer({ description: 'Meta error: 138006 evicts the pair, 138012 stores action_not_permitted' }),
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
