import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { DecisionReason } from './can-call.js'

/**
 * What the gate remembers of one answer, in the cache and in Redis: the verdict and the record behind it.
 * The schema checks what other gates publish or store before this gate trusts it.
 */
export const StoredDecision = Type.Object({
  /** Where the record came from: Kaleyra, or a permission-reply event pushed to a webhook. */
  origin: Type.Union([Type.Literal('upstream'), Type.Literal('event')]),
  allowed: Type.Boolean(),
  reason: DecisionReason,
  // The record behind the verdict, kept flat: a nested object and an ISO expiry string per entry cost 128 bytes
  // of a cached decision (bench scenario 4). The answer's `consent` is built from these when it is sent.
  /** The record's `response` (accept, reject, ...); null when there was no record: the answer's consent is null. */
  response: Type.Union([Type.String(), Type.Null()]),
  isPermanent: Type.Boolean(),
  responseSource: Type.String(),
  canPerformAction: Type.Boolean(),
  /** When Kaleyra was asked, or when the event happened (epoch ms). */
  checkedAtMs: Type.Number(),
  /** The consent's own expiry (epoch ms), null when permanent or absent. */
  expiresAtMs: Type.Union([Type.Number(), Type.Null()]),
  // Optional on the wire: a gate of an earlier release publishes decisions without them (read as null).
  /** action_not_permitted: when the exhausted call limit resets (epoch ms); null when unknown or another reason. */
  retryAtMs: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  /** Whether the business may ask for permission now (Meta); null when the upstream does not say. */
  canRequestPermission: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
})
export type StoredDecision = Static<typeof StoredDecision>

const checkStoredDecision = Compile(StoredDecision)

/**
 * A well-formed decision whose verdict agrees with its reason and, for an allow, with its record (accepted, action
 * permitted, permanent or with an expiry): a shared entry never invents a yes.
 */
export function isTrustedDecision(value: unknown): value is StoredDecision {
  if (!checkStoredDecision.Check(value) || value.allowed !== (value.reason === 'consent_granted'))
    return false
  const grants =
    value.response === 'accept' && value.canPerformAction && (value.isPermanent || value.expiresAtMs !== null)
  return !value.allowed || grants
}

// What another gate sends is checked like a request: a link only ever joins a real BSUID and a real number.
const BsuidWire = Type.String({ pattern: '^[A-Z]{2}\\.(ENT\\.)?[A-Za-z0-9]{1,128}$' })
const PhoneWire = Type.String({ pattern: '^\\+[1-9]\\d{7,14}$' })

/** What one gate tells the others, so a webhook or call outcome that reached it reaches every sidecar. */
export const BusMessage = Type.Union([
  Type.Object({ type: Type.Literal('decision'), key: Type.String(), decision: StoredDecision }),
  Type.Object({ type: Type.Literal('streak'), key: Type.String(), count: Type.Integer({ minimum: 0 }) }),
  Type.Object({ type: Type.Literal('evict'), key: Type.String() }),
  Type.Object({ type: Type.Literal('evict_business'), business: Type.String() }),
  Type.Object({ type: Type.Literal('evict_all') }),
  /** A BSUID and a phone number are one user (a webhook carried both). */
  Type.Object({ type: Type.Literal('link'), bsuid: BsuidWire, phone: PhoneWire }),
  /** These identities changed (a number change): forget every link of theirs. */
  Type.Object({
    type: Type.Literal('unlink'),
    identities: Type.Array(Type.Union([BsuidWire, PhoneWire]), { minItems: 1, maxItems: 64 }),
  }),
])
export type BusMessage = Static<typeof BusMessage>

/** The envelope of a bus message, its decision (if any) not yet read. */
export const BusEnvelope = Type.Union([
  Type.Object({ type: Type.Literal('decision'), key: Type.String(), decision: Type.Unknown() }),
  ...BusMessage.anyOf.slice(1),
])
export const checkBusEnvelope = Compile(BusEnvelope)

/**
 * A decision with its fields in the order decide() makes them (one object shape for the whole cache) and Kaleyra's
 * common values shared: for decisions read from Redis.
 */
export function flatDecision(d: StoredDecision): StoredDecision {
  return {
    origin: d.origin,
    allowed: d.allowed,
    reason: d.reason,
    response: d.response === null ? null : shared(d.response),
    isPermanent: d.isPermanent,
    responseSource: shared(d.responseSource),
    canPerformAction: d.canPerformAction,
    checkedAtMs: d.checkedAtMs,
    expiresAtMs: d.expiresAtMs,
    retryAtMs: d.reason === 'action_not_permitted' ? (d.retryAtMs ?? null) : null,
    canRequestPermission: d.canRequestPermission ?? null,
  }
}

/** Values Kaleyra repeats in every record: one string each for all cached decisions, not one per record. */
const COMMON_VALUES = new Map(
  ['accept', 'reject', 'user_action', 'automatic', 'meta_api'].map((v) => [v, v] as const),
)
export const shared = (value: string): string => COMMON_VALUES.get(value) ?? value
