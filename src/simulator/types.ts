import type { ServerResponse } from 'node:http'

/** One stored permission, as Kaleyra would return it. */
export interface SimConsent {
  /** E.164, e.g. '+918000000001'. */
  business: string
  /** E.164. */
  user: string
  /** 'accept' | 'reject' (any string allowed, for tests). */
  response: string
  can_perform_action: boolean
  is_permanent: boolean
  /** Default 'user_action'. */
  response_source?: string
  /** Epoch ms; null/undefined => the expiry field is emitted as null. */
  expiresAt?: number | null
  /** Which spelling of the expiry to emit; default 'expiration_timestamp'. */
  expiryField?: 'expiration_timestamp' | 'expiration_time_stamp'
}

export type SimFault = (
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status: number; body?: string; retryAfter?: string }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'malformed' }
  | { kind: 'code'; code: string }
  | { kind: 'wrong_types' }
) & {
  /** Only requests that ask about this business number get the fault (others pass, and do not use it up). */
  business?: string
}

export interface SimRequest {
  /** The raw path, without the query. */
  path: string
  /** Every query parameter, decoded; the first wins when one repeats. */
  query: Record<string, string>
  /** The `api-key` header equals the simulator's key (the path's SID is checked apart). */
  apiKeyOk: boolean
  business: string[]
  user: string[]
  /** As asked (default 25, before the cap of 100); NaN when not a non-negative integer. */
  limit: number
  /** As asked (default 0); NaN when not a non-negative integer. */
  offset: number
  /** When it arrived (performance.now() ms), so tests can count requests per window of time. */
  receivedAtMs: number
}

/** Answers held back by hold(), until release(). */
export interface SimHold {
  /** The requests held so far, oldest first. */
  readonly requests: SimRequest[]
  /** Answers every held request, from the records as they are now, and ends the hold; returns them. */
  release(): SimRequest[]
}

export interface KaleyraSimulatorOptions {
  /** Default 'HXSIM00000000001IN'. */
  sid?: string
  /** Default 'sim-key'. */
  apiKey?: string
  consents?: SimConsent[]
  /** How numbers are written in answers: 'e164' (default) or 'spaced' ('+91 90000 00001' style). */
  numberFormat?: 'e164' | 'spaced'
  /** Largest page the simulator answers, whatever `limit` asks (default 100), to exercise paging. */
  maxPageSize?: number
  /** Order of records in answers: 'stored' (default) or 'reversed'. */
  order?: 'stored' | 'reversed'
  /** Records of other pairs to add to every answer that has at least one match. Default false. */
  includeUnrelated?: boolean
}

export interface KaleyraSimulator {
  readonly url: string
  readonly sid: string
  readonly apiKey: string
  readonly requests: SimRequest[]
  listen(port?: number, host?: string): Promise<string>
  close(): Promise<void>
  upsert(consent: SimConsent): void
  remove(business: string, user: string): void
  clear(): void
  /** Apply a fault to the next `times` requests (default: every request until clearFault()). */
  setFault(fault: SimFault, times?: number): void
  clearFault(): void
  /**
   * Holds every answer from now on until the hold is released (with several open, the newest takes each
   * request), so a test can act between Kaleyra being asked and its answer. close() drops held requests.
   */
  hold(): SimHold
  resetRequests(): void
}

/** What the request handlers share; internal, so simulator.ts does not re-export it. */
export interface SimState {
  sid: string
  apiKey: string
  opts: KaleyraSimulatorOptions
  store: Map<string, SimConsent>
  /** Answers a 'hang' fault holds open; close() destroys them so the server can stop. */
  hung: Set<ServerResponse>
}
