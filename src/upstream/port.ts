/**
 * The port the consent core asks through: whoever holds the consent records (Kaleyra today) implements it. The core
 * imports this module and upstream/errors.ts, never an adapter.
 */

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
  /** All records for the given numbers (their cross product may come back). Throws UpstreamError. */
  listPermissions(businesses: readonly string[], users: readonly string[]): Promise<PermissionRecord[]>
}
