import { ConsentGateError } from './errors.js'
import type { RawAnswer } from './transport.js'
import type {
  BatchCheck,
  BatchResult,
  CanCallResult,
  DenyReason,
  OutcomeResult,
  OutcomesResult,
  Undetermined,
} from './types.js'

/** Every deny reason this client knows: `satisfies` fails the build when the OpenAPI document changes them. */
const DENY_REASONS = {
  consent_rejected: true,
  consent_expired: true,
  action_not_permitted: true,
  no_consent: true,
  consent_unrecognized: true,
  unanswered_streak: true,
  identity_unresolved: true,
} satisfies Record<DenyReason, true>

/** Every reason of a 200 decision (the gate decided); only `consent_granted` allows. */
export const DECISION_REASONS: ReadonlySet<string> = new Set([
  'consent_granted',
  ...Object.keys(DENY_REASONS),
])

type Json = Record<string, unknown>
type Pair = { business: string; user: string }

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Only digits: the gate normalizes `+91 98765-43210` to `+919876543210`, and both name the same number. */
const digits = (phone: unknown) => String(phone).replace(/\D/g, '')

/** A BSUID (it has letters) is kept as written: `US.12` and `IN.12` are different users, whatever their digits. */
const sameUser = (answered: unknown, asked: string) =>
  /[A-Za-z]/.test(asked) ? answered === asked : digits(answered) === digits(asked)

export function unreachable(message: string, status?: number): Undetermined {
  return status === undefined
    ? { verdict: 'undetermined', allowed: false, reason: 'gate_unreachable', message }
    : { verdict: 'undetermined', allowed: false, reason: 'gate_unreachable', message, status }
}

function parse(answer: RawAnswer): unknown {
  try {
    return JSON.parse(answer.body) as unknown
  } catch {
    return undefined
  }
}

/** The gate's error envelope `{allowed: false, reason, message}`, or undefined when the body is not one. */
function envelope(body: unknown): Json | undefined {
  return isObject(body) && body.allowed === false && typeof body.reason === 'string' && !('source' in body)
    ? body
    : undefined
}

function fromEnvelope(body: Json, status?: number, retryAfter?: number): Undetermined {
  const result: Undetermined = {
    verdict: 'undetermined',
    allowed: false,
    reason: body.reason as string,
    message: typeof body.message === 'string' ? body.message : '',
  }
  if (retryAfter !== undefined) result.retry_after_seconds = retryAfter
  if (typeof body.decision_id === 'string') result.decision_id = body.decision_id
  if (status !== undefined) result.status = status
  return result
}

/**
 * A decision body as a result, kept field for field. Says allowed only when `allowed` and `reason` agree and
 * the decision is about the pair that was asked; anything else the client cannot read is undetermined.
 */
export function fromDecision(body: unknown, asked: Pair): CanCallResult {
  if (!isObject(body) || typeof body.allowed !== 'boolean' || typeof body.reason !== 'string') {
    return unreachable('the gate answered 200 without a decision')
  }
  for (const field of ['business', 'user', 'source', 'checked_at', 'decision_id'] as const) {
    if (typeof body[field] !== 'string') return unreachable(`the gate's decision has no ${field}`)
  }
  if (digits(body.business) !== digits(asked.business) || !sameUser(body.user, asked.user)) {
    return unreachable("the gate's decision is about another pair than the one asked")
  }
  const decision = body as Omit<CanCallResult, 'verdict'>
  if (body.allowed && body.reason === 'consent_granted')
    return { ...decision, verdict: 'allowed' } as CanCallResult
  if (!body.allowed && Object.hasOwn(DENY_REASONS, body.reason)) {
    return { ...decision, verdict: 'denied' } as CanCallResult
  }
  return unreachable(
    `the gate answered allowed: ${body.allowed} with reason ${body.reason}, which this client does not know`,
  )
}

/** `GET /can-call`'s answer, whatever its status: never throws. */
export function toCanCallResult(answer: RawAnswer, asked: Pair): CanCallResult {
  const body = parse(answer)
  if (answer.status === 200) {
    const result = fromDecision(body, asked)
    return result.verdict === 'undetermined' ? { ...result, status: 200 } : result
  }
  const error = envelope(body)
  if (error) return fromEnvelope(error, answer.status, answer.retryAfterSeconds)
  return unreachable(`the gate answered ${answer.status} without its JSON envelope`, answer.status)
}

/** A whole request failed: the gate's envelope as an error, or gate_unreachable for any other body. */
export function requestError(answer: RawAnswer): ConsentGateError {
  const error = envelope(parse(answer))
  return new ConsentGateError({
    status: answer.status,
    code: error ? (error.reason as string) : 'gate_unreachable',
    message:
      error && typeof error.message === 'string'
        ? error.message
        : `the gate answered ${answer.status} without its JSON envelope`,
    retryAfterSeconds: answer.retryAfterSeconds,
  })
}

/** The `results` array of a 200 with one item per request item, or a ConsentGateError to throw. */
function results(answer: RawAnswer, expected: number): unknown[] {
  if (answer.status !== 200) throw requestError(answer)
  const body = parse(answer)
  if (!isObject(body) || !Array.isArray(body.results) || body.results.length !== expected) {
    throw new ConsentGateError({
      status: answer.status,
      code: 'gate_unreachable',
      message: `the gate answered 200 without ${expected} results`,
    })
  }
  return body.results as unknown[]
}

/** `POST /can-call/batch`: each item a decision or that pair's own error, as canCall would answer it. */
export function toBatchResult(answer: RawAnswer, checks: readonly BatchCheck[]): BatchResult {
  return {
    results: results(answer, checks.length).map((item, i) => {
      const error = envelope(item)
      return error ? fromEnvelope(error) : fromDecision(item, checks[i]!)
    }),
  }
}

/** `POST /call-outcomes`: the gate's results as it sent them. */
export function toOutcomesResult(answer: RawAnswer, count: number): OutcomesResult {
  return { results: results(answer, count) as OutcomeResult[] }
}
