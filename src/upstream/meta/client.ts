import { Pool } from 'undici'
import type { Logger } from 'pino'
import type { Clock } from '../../lib/clock.js'
import { graphUserParam } from '../../lib/identity.js'
import { normalizeUpstreamPhone } from '../../lib/phone.js'
import type { UpstreamOutcome } from '../../observability/metrics.js'
import { UpstreamError, toUpstreamError } from '../errors.js'
import { createDeadline, type Deadline, type UpstreamGuard } from '../guard.js'
import type { ConsentUpstream, PermissionRecord, Priority } from '../port.js'
import { PHONE_NUMBER_ID } from '../../config/phone-number-ids.js'
import { readGraphAnswer, readPhoneNumbersAnswer, toRecord, type MetaPhoneNumbersPage } from './wire.js'

export interface MetaClientOptions {
  /** META_GRAPH_BASE_URL: origin plus optional path prefix. Default https://graph.facebook.com. */
  baseUrl?: string
  /** META_GRAPH_VERSION, e.g. `v23.0`. */
  version: string
  /** META_ACCESS_TOKEN: sent as a Bearer header, never logged, never in a message. */
  accessToken: string
  /** Business number (E.164) to phone number ID. */
  /** `discovered`: false while META_WABA_ID's numbers were never read (undefined: no discovery). */
  phoneNumbers: { idOf(business: string): string | undefined; readonly discovered?: boolean }
  /** Connect, headers and body timeout of each request. */
  timeoutMs: number
  /** Bound on one lookup: every request, retry and backoff (CHECK_DEADLINE_MS). Default 2 x timeoutMs. */
  deadlineMs?: number
  /** Keep-alive connections to Graph. Default 16. */
  connections?: number
  /** Breaker, budget and retries around each request. Default: one plain attempt. */
  guard?: UpstreamGuard
  clock: Clock
  logger: Logger
  /** Called once per permission request with how it ended and how long it took (metrics). */
  observe?: (outcome: UpstreamOutcome, seconds: number) => void
}

/** The Meta Cloud API adapter of the upstream port. */
export interface MetaClient extends ConsentUpstream {
  readonly name: 'meta'
  /** The WABA's business numbers (E.164) and their phone number IDs; throws UpstreamError. */
  discoverPhoneNumbers(wabaId: string): Promise<Map<string, string>>
  close(): Promise<void>
}

export const DEFAULT_GRAPH_BASE_URL = 'https://graph.facebook.com'
const MAX_BODY_BYTES = 1024 * 1024
/** Bound on phone number pages read for one discovery: 2000 numbers, more than a WABA holds. */
const MAX_PAGES = 20
const PAGE_SIZE = 100
const PLAIN: UpstreamGuard = { run: (attempt, deadline) => attempt(deadline.signal) }

export function createMetaClient(opts: MetaClientOptions): MetaClient {
  const base = new URL(opts.baseUrl ?? DEFAULT_GRAPH_BASE_URL)
  const prefix = `${base.pathname.replace(/\/+$/, '')}/${encodeURIComponent(opts.version)}`
  const log = opts.logger.child({ module: 'meta' })
  const guard = opts.guard ?? PLAIN
  const headers = { authorization: `Bearer ${opts.accessToken}` }
  const pool = new Pool(base.origin, {
    connections: opts.connections ?? 16,
    connectTimeout: opts.timeoutMs,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
    maxResponseSize: MAX_BODY_BYTES,
  })

  /** One GET; the answer's status, Retry-After and text. Undici's errors name no header, so no token. */
  async function get(path: string, signal: AbortSignal) {
    const res = await pool.request({ method: 'GET', path, headers, signal })
    const text = await res.body.text()
    return { status: res.statusCode, retryAfter: res.headers['retry-after'], text }
  }

  async function ask(pnid: string, business: string, user: string, signal: AbortSignal) {
    const started = performance.now()
    let outcome: UpstreamOutcome = 'ok'
    try {
      const path = `${prefix}/${encodeURIComponent(pnid)}/call_permissions?${graphUserParam(user)}`
      const res = await get(path, signal)
      log.debug({ status: res.status, ms: Math.round(performance.now() - started) }, 'meta check')
      const body = readGraphAnswer(res.status, res.retryAfter, res.text, opts.clock.now())
      return toRecord(body, business, user)
    } catch (err) {
      const kind = toUpstreamError(err, 'Meta').kind
      outcome = kind === 'circuit_open' || kind === 'budget_exceeded' ? 'error' : kind
      throw err
    } finally {
      opts.observe?.(outcome, (performance.now() - started) / 1000)
    }
  }

  async function check(business: string, user: string, deadline: Deadline, priority?: Priority) {
    const pnid = opts.phoneNumbers.idOf(business)
    // The route refuses such a check first (refuses()); this guards every other caller, naming no number.
    if (pnid === undefined)
      throw new UpstreamError(
        'error',
        opts.phoneNumbers.discovered === false
          ? "Meta's phone number ids are not discovered yet (META_WABA_ID); nothing was sent"
          : 'A business number has no Meta phone number ID; nothing was sent',
      )
    return guard.run((signal) => ask(pnid, business, user, signal), deadline, priority)
  }

  async function listPermissions(
    businesses: readonly string[],
    users: readonly string[],
    listOpts?: { priority?: Priority },
  ): Promise<PermissionRecord[]> {
    const deadline = createDeadline(opts.deadlineMs ?? 2 * opts.timeoutMs)
    // Meta answers one user per request: the gate asks 1 x 1; a larger ask is every pair at once.
    const pairs = businesses.flatMap((b) => users.map((u) => check(b, u, deadline, listOpts?.priority)))
    try {
      return await Promise.all(pairs)
    } catch (err) {
      throw toUpstreamError(err, 'Meta')
    }
  }

  async function discoverPhoneNumbers(wabaId: string): Promise<Map<string, string>> {
    const found = new Map<string, string>()
    const signal = AbortSignal.timeout(MAX_PAGES * opts.timeoutMs)
    const first = `${prefix}/${encodeURIComponent(wabaId)}/phone_numbers?fields=id,display_phone_number&limit=${PAGE_SIZE}`
    let skipped = 0
    try {
      let after: string | undefined
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await get(
          after === undefined ? first : `${first}&after=${encodeURIComponent(after)}`,
          signal,
        )
        const body = readPhoneNumbersAnswer(res.status, res.retryAfter, res.text, opts.clock.now())
        skipped += collect(body, found)
        after = nextCursor(body, after)
        if (after === undefined) return found
      }
      log.warn(
        { pages: MAX_PAGES, found: found.size },
        'meta phone numbers go on past the page bound; keeping those read',
      )
      return found
    } catch (err) {
      throw toUpstreamError(err, 'Meta')
    } finally {
      if (skipped > 0) log.warn({ skipped }, 'meta listed phone numbers the gate cannot read')
    }
  }

  return {
    name: 'meta',
    asksBsuid: true,
    batches: false,
    // Until discovery has answered once, an unknown number may be one it will find: a 503 (ask again), not a 400.
    refuses: (business) =>
      opts.phoneNumbers.idOf(business) === undefined && opts.phoneNumbers.discovered !== false
        ? `business ${business} has no Meta phone number id: it is not in META_PHONE_NUMBERS` +
          (opts.phoneNumbers.discovered === undefined ? '' : ' and was not discovered under META_WABA_ID')
        : undefined,
    listPermissions,
    discoverPhoneNumbers,
    close: () => pool.close(),
  }
}

/** Adds a page's readable numbers (the first ID of a number wins); returns how many it skipped. */
function collect(page: MetaPhoneNumbersPage, into: Map<string, string>): number {
  let skipped = 0
  for (const entry of page.data) {
    const number = normalizeUpstreamPhone(entry.display_phone_number)
    if (number === null || !PHONE_NUMBER_ID.test(entry.id)) skipped++
    else if (!into.has(number)) into.set(number, entry.id)
  }
  return skipped
}

/**
 * The cursor of the next page, or undefined on the last: Graph sends `next` only when there is one, and `after`
 * even on the last page. The `next` URL itself is never followed: it would point wherever the answer says.
 */
function nextCursor(page: MetaPhoneNumbersPage, previous: string | undefined): string | undefined {
  const after = page.paging?.cursors?.after
  if (page.data.length === 0 || page.paging?.next === undefined || !after || after === previous)
    return undefined
  return after
}
