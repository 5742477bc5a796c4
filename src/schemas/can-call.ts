import Type, { type Static } from 'typebox'

const E164_DOC =
  'E.164 number: + and 8 to 15 digits; spaces, dashes, dots and parentheses are ignored. Send + as %2B.'

// 64 characters: 15 digits with room for any separators a person would write (parsePhone's own bound).
export const PhoneParam = Type.String({ maxLength: 64, description: E164_DOC, examples: ['+919876543210'] })

/**
 * Which upstream work a check's miss is: `live` (a dialer about to call) goes first when both wait for the upstream
 * budget; `bulk` (a campaign pre-check) uses what live checks leave. A caller may lower its class, never raise it.
 */
export const Priority = Type.Enum(['live', 'bulk'], {
  description:
    'bulk: a pre-check that may wait behind live checks. live (the default) on a batch of more than 4 pairs ' +
    'is still bulk.',
})
export type Priority = Static<typeof Priority>

const USER_DOC =
  `${E164_DOC} Or a BSUID (business-scoped user id): two capital letters, a dot, optionally ENT. and a dot, then ` +
  '1 to 128 letters and digits.'

// 140 characters: the longest BSUID (a parent one: CC.ENT. and 128 characters) with room to spare.
export const UserParam = Type.String({
  maxLength: 140,
  description: USER_DOC,
  examples: ['+919876543210', 'US.13491208655302741918'],
})

export const CanCallQuery = Type.Object({
  business: PhoneParam,
  user: UserParam,
  fresh: Type.Optional(
    Type.Boolean({
      description: 'true skips the cache for this check; the answer still refreshes the cache',
    }),
  ),
  priority: Type.Optional(Priority),
})
export type CanCallQuery = Static<typeof CanCallQuery>

export const BatchQuery = Type.Object({ priority: Type.Optional(Priority) })
export type BatchQuery = Static<typeof BatchQuery>

/** Reasons a 200 decision can carry. `consent_granted` is the only one with `allowed: true`. */
// Enums rather than unions of literals: one `enum` keyword reads better in OpenAPI and serializes faster.
export const DecisionReason = Type.Enum([
  'consent_granted',
  'consent_rejected',
  'consent_expired',
  'action_not_permitted',
  'no_consent',
  'consent_unrecognized',
  'unanswered_streak',
  'identity_unresolved',
])
export type DecisionReason = Static<typeof DecisionReason>

/** The consent record as the upstream reported it (Kaleyra's record, or Meta's permission), or a webhook. */
export const Consent = Type.Object({
  response: Type.String({ description: 'accept or reject (any other value never allows)' }),
  is_permanent: Type.Boolean(),
  response_source: Type.String({ description: 'user_action, automatic or meta_api' }),
  can_perform_action: Type.Boolean(),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
})
export type Consent = Static<typeof Consent>

/**
 * `cache`: remembered from the upstream; `upstream`: the upstream (Kaleyra or Meta) was just asked; `event`: from a
 * permission-reply webhook or a reported call outcome; `stale`: the upstream could not answer and
 * CACHE_STALE_IF_ERROR_SECONDS let an expired entry answer; `none`: nothing could be asked (identity_unresolved).
 */
export const DecisionSource = Type.Enum(['cache', 'upstream', 'stale', 'event', 'none'])
export type DecisionSource = Static<typeof DecisionSource>

export const DecisionBody = Type.Object({
  allowed: Type.Boolean(),
  reason: DecisionReason,
  business: Type.String({ description: 'normalized E.164' }),
  user: Type.String({ description: 'normalized E.164, or the BSUID as asked' }),
  consent: Type.Union([Consent, Type.Null()]),
  retry_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description:
      'action_not_permitted: when the exhausted start_call limit resets (Meta). Null otherwise or when unknown ' +
      '(Kaleyra gives no limits); a temporary grant ends at consent.expires_at',
  }),
  can_request_permission: Type.Union([Type.Boolean(), Type.Null()], {
    description:
      "Whether the business may send the user a call permission request now (Meta's send_call_permission_request); " +
      'null when the upstream does not say (Kaleyra, webhooks)',
  }),
  source: DecisionSource,
  checked_at: Type.String({
    format: 'date-time',
    description: 'when the upstream was asked, or when the event happened',
  }),
  decision_id: Type.String({ description: 'unique per answer; join key for decision logs' }),
})
export type DecisionBody = Static<typeof DecisionBody>

/**
 * A bad number in a batch gets its own error result (one typo never fails a campaign), so the schema stops only
 * what no writing of a number could be; parsePhone refuses anything past 64 characters item by item.
 */
const BatchPhone = Type.String({ maxLength: 256, description: E164_DOC, examples: ['+919876543210'] })
const BatchUser = Type.String({ maxLength: 256, description: USER_DOC, examples: ['+919876543210'] })

export const BatchCheck = Type.Object({ business: BatchPhone, user: BatchUser })

export const BatchRequest = Type.Object({
  checks: Type.Array(BatchCheck, {
    minItems: 1,
    maxItems: 1000,
    description: 'Pairs to check, 1 to 1000; answered in the same order',
  }),
})
export type BatchRequest = Static<typeof BatchRequest>

/** One result: exactly the body GET /can-call would give for that pair, a decision or an error. */
export const BatchResult = Type.Union([
  DecisionBody,
  Type.Object({
    allowed: Type.Literal(false),
    reason: Type.String({ description: 'invalid_request, upstream_unavailable, upstream_auth_failed, ...' }),
    message: Type.String(),
    decision_id: Type.Optional(Type.String()),
  }),
])

export const BatchResponse = Type.Object({ results: Type.Array(BatchResult) })
