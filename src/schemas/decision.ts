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

/** What one gate tells the others, so a webhook or call outcome that reached it reaches every sidecar. */
export const BusMessage = Type.Union([
  Type.Object({ type: Type.Literal('decision'), key: Type.String(), decision: StoredDecision }),
  Type.Object({ type: Type.Literal('streak'), key: Type.String(), count: Type.Integer({ minimum: 0 }) }),
  Type.Object({ type: Type.Literal('evict'), key: Type.String() }),
  Type.Object({ type: Type.Literal('evict_business'), business: Type.String() }),
  Type.Object({ type: Type.Literal('evict_all') }),
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
  }
}

/** Values Kaleyra repeats in every record: one string each for all cached decisions, not one per record. */
const COMMON_VALUES = new Map(
  ['accept', 'reject', 'user_action', 'automatic', 'meta_api'].map((v) => [v, v] as const),
)
export const shared = (value: string): string => COMMON_VALUES.get(value) ?? value
