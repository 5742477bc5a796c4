import type { ServerResponse } from 'node:http'
import type { Clock } from '../lib/clock.js'

/**
 * One stored permission. Kaleyra's API answers it as a record; Meta's Graph API answers it as
 * `permission` + `actions[]` (graph/permissions.ts says how each field maps).
 */
export interface SimConsent {
  /** E.164, e.g. '+918000000001'. */
  business: string
  /**
   * E.164, or a BSUID (e.g. 'IN.9000000000000000007') for a user known only by it. Kaleyra's API keys by phone
   * number and never lists a BSUID user; Meta's answers it to `recipient=<BSUID>`.
   */
  user: string
  /** 'accept' | 'reject' (any string allowed, for tests; Meta shows any other string as the status). */
  response: string
  /** Kaleyra's field; Meta's `start_call` can_perform_action. */
  can_perform_action: boolean
  is_permanent: boolean
  /** Default 'user_action'. Kaleyra only: Meta's answer has no such field. */
  response_source?: string
  /** Epoch ms; null/undefined => the expiry field is emitted as null (Kaleyra) or left out (Meta). */
  expiresAt?: number | null
  /** Which spelling of the expiry to emit; default 'expiration_timestamp'. Kaleyra only. */
  expiryField?: 'expiration_timestamp' | 'expiration_time_stamp'
  /**
   * Meta only, epoch ms: when can_perform_action is false, the start_call PT24H limit shows as used up
   * (`current_usage` = `max_allowed`) until then, in `limit_expiration_time`.
   */
  startCallLimitResetsAt?: number
  /** Meta only: send_call_permission_request's can_perform_action. Default: true unless response is 'accept'. */
  canRequestPermission?: boolean
  /** Meta only: appended verbatim to `actions[]`, for actions the gate does not know. */
  extraActions?: object[]
}

export type SimFault = (
  | { kind: 'latency'; ms: number }
  /** Kaleyra: its envelope `WA<status>`; Meta: Graph's envelope with the code that status usually carries. */
  | { kind: 'status'; status: number; body?: string; retryAfter?: string }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'malformed' }
  /** Kaleyra only: a 200 with this envelope code. Meta requests pass it by, unused. */
  | { kind: 'code'; code: string }
  | { kind: 'wrong_types' }
  /** Meta only: Graph's error envelope with this code and HTTP status. Kaleyra requests pass it by, unused. */
  | { kind: 'graph_error'; code: number; status: number; retryAfter?: string; subcode?: number }
) & {
  /**
   * Only requests that ask about this business number get the fault (others pass, and do not use it up). For a
   * Graph request, the E.164 of the phone number id asked; a phone_numbers listing asks about none.
   */
  business?: string
}

export interface SimRequest {
  /** Which API was asked: Kaleyra's call_permissions, or Meta's Graph (call_permissions or phone_numbers). */
  api: 'kaleyra' | 'meta'
  /** The raw path, without the query. */
  path: string
  /** Every query parameter, decoded; the first wins when one repeats. */
  query: Record<string, string>
  /** Kaleyra: the `api-key` header equals the simulator's key (the SID is checked apart). Meta: the Bearer token. */
  apiKeyOk: boolean
  /** Kaleyra: the numbers asked. Meta: the E.164 of the phone number id asked, empty when unknown or none. */
  business: string[]
  /** Kaleyra: the numbers asked. Meta: the identity asked, '+<user_wa_id>' or the `recipient` BSUID as written. */
  user: string[]
  /** As asked (default 25, before the cap of 100); NaN when not a non-negative integer. */
  limit: number
  /** As asked (default 0); NaN when not a non-negative integer. Always 0 for Meta, which pages by cursor. */
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
  /** How numbers are written in answers: 'e164' (default) or 'spaced' ('+91 90000 00001' style). Kaleyra only. */
  numberFormat?: 'e164' | 'spaced'
  /** Largest page the simulator answers, whatever `limit` asks (default 100), to exercise paging. Kaleyra only. */
  maxPageSize?: number
  /** Order of records in answers: 'stored' (default) or 'reversed'. Kaleyra only. */
  order?: 'stored' | 'reversed'
  /** Records of other pairs to add to every answer that has at least one match. Default false. Kaleyra only. */
  includeUnrelated?: boolean
  /**
   * Meta: E.164 -> phone number id. A number not named here has the id simPhoneNumberId() derives from it, so
   * tests and the demo can compute it.
   */
  phoneNumberIds?: Record<string, string>
  /** Meta: the Bearer token it expects. Default 'sim-meta-token-0123456789'. */
  metaAccessToken?: string
  /** Meta: the WhatsApp Business Account whose phone_numbers it lists. Default '100000000000001'. */
  wabaId?: string
  /**
   * Meta: call_permissions requests answered in any 1-second sliding window (Meta's limit, default 100); the next
   * gets 429 code 613. Counts authenticated requests for a known number, across all numbers.
   */
  metaMaxRps?: number
  /** What that window reads; default the system clock. Pass the gate's manual clock to move both at once. */
  clock?: Clock
}

export interface KaleyraSimulator {
  readonly url: string
  readonly sid: string
  readonly apiKey: string
  /** The Bearer token Meta's API expects (a test value, never a real token). */
  readonly metaAccessToken: string
  readonly wabaId: string
  /** The phone number id Meta's API knows `business` (E.164) by. */
  phoneNumberIdOf(business: string): string
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
   * request), so a test can act between the upstream being asked and its answer. close() drops held requests.
   */
  hold(): SimHold
  resetRequests(): void
}

/** The simulator, which serves Kaleyra's API and Meta's from one store; the older name stays for its importers. */
export type Simulator = KaleyraSimulator

/** What the request handlers share; internal, so simulator.ts does not re-export it. */
export interface SimState {
  sid: string
  apiKey: string
  opts: KaleyraSimulatorOptions
  store: Map<string, SimConsent>
  /** Answers a 'hang' fault holds open; close() destroys them so the server can stop. */
  hung: Set<ServerResponse>
  meta: MetaState
}

/** Meta's side of the state: credentials, the number directory and the rate window. */
export interface MetaState {
  accessToken: string
  wabaId: string
  /** E.164 -> phone number id, as configured. */
  ids: ReadonlyMap<string, string>
  /** Phone number id -> E.164, as configured. */
  numbers: ReadonlyMap<string, string>
  /** Whether one more call_permissions request fits in the window now (and counts it when it does). */
  admit(): boolean
}
