/**
 * The port the consent core asks through: whoever holds the consent records (Kaleyra today) implements it. The core
 * imports this module and upstream/errors.ts, never an adapter.
 */
import type { Priority } from '../schemas/can-call.js'

/** live: a dialer waits on the answer; bulk: a campaign pre-check. The budget serves live work first. */
export type { Priority }

/** One permission as the gate reads it: numbers normalized, expiry parsed. */
export interface PermissionRecord {
  business: string
  user: string
  response: string
  isPermanent: boolean
  responseSource: string
  canPerformAction: boolean
  expiresAtMs: number | null
}

export interface ConsentUpstream {
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
