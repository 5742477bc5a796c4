import type { BusMessage } from '../../schemas/decision.js'

/** What the event subsystem takes in and gives out: the leaf every events/ module and its callers import. */

/** A `call_permission_reply` as Meta sends it, numbers normalized. */
export interface PermissionReply {
  /** Meta's message id (wamid...): delivery is at-least-once, so this is the dedupe key. */
  id: string
  business: string
  /** The phone number, or the BSUID of a username user (no `from`). */
  user: string
  /** The reply's other BSUIDs (from_user_id, from_parent_user_id): linked to the number, the reply applies to each. */
  bsuids?: string[]
  /** When the user replied (epoch ms). */
  timestampMs: number
  response: string
  isPermanent: boolean
  expiresAtMs: number | null
  responseSource: string
}

export type Outcome = 'answered' | 'unanswered' | 'rejected' | 'failed'
export interface CallOutcome {
  business: string
  user: string
  outcome: Outcome
  errorCode?: number
  /** The decision the call was placed on: a report sent twice counts once. */
  decisionId?: string
}

/**
 * `outdated`: not newer than what the gate knows of the pair, so it changes nothing. `untrusted`: an accept the
 * gate cannot prove newest (docs/consent-ordering.md): it evicted the pair instead of granting.
 */
export type ReplyResult = 'applied' | 'duplicate' | 'outdated' | 'untrusted'
export type EvictionCause = 'error_code_138006' | 'admin' | 'identity_changed' | 'identity_linked'

export interface ConsentEvents {
  applyReply(reply: PermissionReply): Promise<ReplyResult>
  /** Returns the pair's unanswered streak after the outcome. */
  applyOutcome(outcome: CallOutcome): Promise<number>
  /** Operator invalidation: this gate, the shared tier and every other gate. Returns local evictions. */
  evict(scope: { business?: string; user?: string }): Promise<number>
  /** Applies what another gate published: its webhooks and outcomes reach this gate too. */
  applyRemote(message: BusMessage): void
  /** Takes the fleet's streak for the pair (shared mode), so a gate that started late knows it too. */
  syncStreak(key: string): Promise<void>
  /** The identity a user's pairs are kept under: a BSUID linked to a number is that number (lookup.ts does the same). */
  identityOf(user: string): Promise<string>
  /**
   * A user's identities changed (a number change): their links are forgotten, and every cached answer and fact of
   * them and of what they were linked to is evicted, for every business, here and across the fleet. Returns false
   * for a redelivery.
   */
  forgetIdentities(change: { id: string; business: string; identities: readonly string[] }): Promise<boolean>
  /** This gate's link memory dropped a BSUID's link (its bound): its own pairs are evicted here. */
  forgotLink(bsuid: string): void
}
