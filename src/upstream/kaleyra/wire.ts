import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'

/**
 * The wire format of Kaleyra's "Get Call Consent Status" API, as its API page documents it.
 * The page spells the expiry both `expiration_timestamp` (sample) and `expiration_time_stamp` (table):
 * both are accepted.
 */
export const KaleyraPermissionRecord = Type.Object({
  business_phone_number: Type.String(),
  user_phone_number: Type.String(),
  can_perform_action: Type.Boolean(),
  /** `accept` or `reject` today; any other string is kept and never allows a call. */
  response: Type.String(),
  is_permanent: Type.Boolean(),
  /** `user_action`, `automatic` or Kaleyra's opaque `meta_api`. */
  response_source: Type.String(),
  expiration_timestamp: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  expiration_time_stamp: Type.Optional(Type.Union([Type.String(), Type.Null()])),
})
export type KaleyraPermissionRecord = Static<typeof KaleyraPermissionRecord>

export const KaleyraSuccessEnvelope = Type.Object({
  code: Type.Literal('WA200'),
  message: Type.Optional(Type.String()),
  data: Type.Array(KaleyraPermissionRecord),
  limit: Type.Optional(Type.Integer({ minimum: 0 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  total: Type.Optional(Type.Integer({ minimum: 0 })),
})
export type KaleyraSuccessEnvelope = Static<typeof KaleyraSuccessEnvelope>

/** Any envelope carrying a code: used to read error answers such as 401 RBC001. */
export const KaleyraCodeEnvelope = Type.Object({
  code: Type.String(),
  message: Type.Optional(Type.Unknown()),
})

export const checkSuccessEnvelope = Compile(KaleyraSuccessEnvelope)
export const checkCodeEnvelope = Compile(KaleyraCodeEnvelope)

export const AUTH_FAILED_CODE = 'RBC001'
export const SUCCESS_CODE = 'WA200'
/** Kaleyra's default and documented page size. */
export const DEFAULT_PAGE_SIZE = 25

/** The expiry of a record, whichever spelling Kaleyra used. */
export function recordExpiry(record: KaleyraPermissionRecord): string | null {
  return record.expiration_timestamp ?? record.expiration_time_stamp ?? null
}
