/**
 * What the CLI makes of one answer of the gate: a decision (allowed or not), an invalid input, or undetermined.
 * The reasons are the gate's public contract (README, reason table); the CLI adds none but `gate_unreachable`,
 * which the client gives when no answer came at all.
 */
import { DECISION_REASONS } from '../client/index.js'

/** One result as the gate writes it: a decision body, or an error body with a message. */
export interface CheckResult {
  allowed: boolean
  reason: string
  message?: string
  business?: string
  user?: string
  consent?: { expires_at?: string | null } | null
  retry_at?: string | null
  can_request_permission?: boolean | null
  source?: string
  checked_at?: string
  decision_id?: string
}

/** The answer as the gate sent it: the client's own fields (`verdict`, `status`, `retry_after_seconds`) left out. */
export function gateBody<T extends object>(result: T): CheckResult {
  const {
    verdict: _v,
    status: _s,
    retry_after_seconds: _r,
    ...body
  } = result as T & {
    verdict?: unknown
    status?: unknown
    retry_after_seconds?: unknown
  }
  return body as unknown as CheckResult
}

/** Reasons worth asking again after a pause: the gate or Kaleyra could not answer now, and may soon. */
export const RETRYABLE_REASONS: ReadonlySet<string> = new Set([
  'upstream_unavailable',
  'overloaded',
  'gate_unreachable',
])

export const INVALID_REQUEST = 'invalid_request'

export type Verdict = 'decided' | 'invalid' | 'undetermined'

export function verdictOf(reason: string): Verdict {
  if (DECISION_REASONS.has(reason)) return 'decided'
  if (reason === INVALID_REQUEST) return 'invalid'
  return 'undetermined'
}

/** A row is final once decided or known invalid; a resumed run asks the gate again about every other row. */
export const isFinal = (reason: string): boolean => verdictOf(reason) !== 'undetermined'

/** Exit codes of both commands (issue 14): 0 allowed or all decided, 1 not allowed, 2 undetermined or bad input. */
export const EXIT = { ok: 0, notAllowed: 1, undetermined: 2, interrupted: 130 } as const
