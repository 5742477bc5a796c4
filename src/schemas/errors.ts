import Type, { type Static } from 'typebox'

export const InvalidRequestBody = Type.Object({
  allowed: Type.Literal(false),
  reason: Type.Literal('invalid_request'),
  message: Type.String({ description: 'which parameter is wrong and why' }),
})

export const UnavailableBody = Type.Object({
  allowed: Type.Literal(false),
  reason: Type.Union([Type.Literal('upstream_unavailable'), Type.Literal('upstream_auth_failed')]),
  message: Type.String(),
  decision_id: Type.String(),
})

/** The shape of every error answer; routes declare the narrower bodies above for their statuses. */
export const ErrorBody = Type.Object({
  allowed: Type.Literal(false),
  reason: Type.String(),
  message: Type.String(),
  decision_id: Type.Optional(Type.String()),
})
export type ErrorBody = Static<typeof ErrorBody>
