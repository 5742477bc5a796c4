import Type, { type Static } from 'typebox'

export const InvalidRequestBody = Type.Object(
  {
    allowed: Type.Literal(false),
    reason: Type.Literal('invalid_request'),
    message: Type.String({ description: 'which parameter is wrong and why' }),
  },
  { description: 'Bad input; nothing was sent to Kaleyra.' },
)

export const UnavailableBody = Type.Object(
  {
    allowed: Type.Literal(false),
    reason: Type.Union([
      Type.Literal('upstream_unavailable'),
      Type.Literal('upstream_auth_failed'),
      Type.Literal('overloaded'),
    ]),
    message: Type.String(),
    decision_id: Type.String(),
  },
  { description: 'No answer could be had; the gate fails closed. Always sent with Retry-After (seconds).' },
)

export const UnauthorizedBody = Type.Object(
  {
    allowed: Type.Literal(false),
    reason: Type.Literal('unauthorized'),
    message: Type.String(),
  },
  { description: 'GATE_API_TOKENS is set and the request carries no valid Authorization: Bearer token.' },
)

/** The shape of every error answer; routes declare the narrower bodies above for their statuses. */
export const ErrorBody = Type.Object({
  allowed: Type.Literal(false),
  reason: Type.String(),
  message: Type.String(),
  decision_id: Type.Optional(Type.String()),
})
export type ErrorBody = Static<typeof ErrorBody>
