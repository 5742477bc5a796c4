/**
 * The port the consent core asks through: whoever holds the consent records implements it (upstream/kaleyra/,
 * upstream/meta/). The core imports this module and upstream/errors.ts, never an adapter.
 */
import type { Priority } from '../schemas/can-call.js'

/** live: a dialer waits on the answer; bulk: a campaign pre-check. The budget serves live work first. */
export type { Priority }

/** One permission as the gate reads it: numbers normalized, expiry parsed. */
export interface PermissionRecord {
  business: string
  /** E.164, or the BSUID the upstream was asked about (Meta answers about the identity it was asked). */
  user: string
  /**
   * accept, reject, or whatever else the upstream says (never allows); null when the upstream says there is no
   * permission at all (Meta's `no_permission`): the decision is `no_consent`, but the record still tells the actions.
   */
  response: string | null
  isPermanent: boolean
  responseSource: string
  canPerformAction: boolean
  expiresAtMs: number | null
  /** When the exhausted `start_call` limit resets (Meta's limit_expiration_time, epoch ms); null or absent: unknown. */
  retryAtMs?: number | null
  /** Whether the business may ask the user for permission now (Meta's send_call_permission_request); null: unknown. */
  canRequestPermission?: boolean | null
}

export interface ConsentUpstream {
  /** Which upstream this is: names it in messages and logs. */
  readonly name: 'kaleyra' | 'meta'
  /** Whether a user known only by a BSUID can be asked (Meta: `recipient=`); Kaleyra knows phone numbers only. */
  readonly asksBsuid: boolean
  /**
   * Whether one request answers many users (Kaleyra: lists of numbers, so misses are micro-batched); Meta answers
   * one user per request.
   */
  readonly batches: boolean
  /**
   * Why a check of this business cannot be sent at all (Meta: a number not in META_PHONE_NUMBERS or discovered),
   * as a sentence for a 400 `invalid_request`; undefined when it can be asked.
   */
  refuses?(business: string): string | undefined
  /**
   * All records for the given numbers (their cross product may come back). Throws UpstreamError. `priority`
   * (default live) is the class of work the request waits for the budget in.
   */
  listPermissions(
    businesses: readonly string[],
    users: readonly string[],
    opts?: { priority?: Priority },
  ): Promise<PermissionRecord[]>
}
