import { Pool } from 'undici'
import type { Logger } from 'pino'
import { normalizeUpstreamPhone } from '../../lib/phone.js'
import type { Clock } from '../../lib/clock.js'
import { LATEST_EPOCH_SECONDS } from '../../lib/iso-time.js'
import type { UpstreamOutcome } from '../../observability/metrics.js'
import { UpstreamError, parseRetryAfter, toUpstreamError } from '../errors.js'
import type { ConsentUpstream, PermissionRecord, Priority } from '../port.js'
import { createDeadline, type UpstreamGuard } from '../guard.js'
import {
  AUTH_FAILED_CODE,
  DEFAULT_PAGE_SIZE,
  SUCCESS_CODE,
  checkCodeEnvelope,
  checkSuccessEnvelope,
  recordExpiry,
  type KaleyraPermissionRecord,
  type KaleyraSuccessEnvelope,
} from './wire.js'

export interface KaleyraClientOptions {
  /** Origin plus optional path prefix, e.g. `https://api.in.kaleyra.io`. */
  baseUrl: string
  sid: string
  apiKey: string
  /** Connect, headers and body timeout of each request. */
  timeoutMs: number
  clock: Clock
  logger: Logger
  /** Records asked per page (Kaleyra's default: 25). */
  pageSize?: number
  /** Bound on pages read for one lookup, so a misbehaving `total` cannot loop us forever. Default 40. */
  maxPages?: number
  /** Keep-alive connections to Kaleyra. Default 16. */
  connections?: number
  /** Bound on one lookup: every page, retry and backoff (CHECK_DEADLINE_MS). Default 2 x timeoutMs. */
  deadlineMs?: number
  /** Breaker, budget and retries around each request. Default: one plain attempt. */
  guard?: UpstreamGuard
  /** Called once per HTTP request with how it ended and how long it took (metrics). */
  observe?: (outcome: UpstreamOutcome, seconds: number) => void
}

/** The Kaleyra adapter of the upstream port. */
export interface KaleyraClient extends ConsentUpstream {
  close(): Promise<void>
}

const MAX_BODY_BYTES = 1024 * 1024
const PLAIN: UpstreamGuard = { run: (attempt, deadline) => attempt(deadline.signal) }

export function createKaleyraClient(opts: KaleyraClientOptions): KaleyraClient {
  const base = new URL(opts.baseUrl)
  const pathPrefix = `${base.pathname.replace(/\/+$/, '')}/v2/${encodeURIComponent(opts.sid)}/whatsapp/call_permissions`
  const pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE
  const maxPages = opts.maxPages ?? 40
  const log = opts.logger.child({ module: 'kaleyra' })
  const guard = opts.guard ?? PLAIN
  const pool = new Pool(base.origin, {
    connections: opts.connections ?? 16,
    connectTimeout: opts.timeoutMs,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
    maxResponseSize: MAX_BODY_BYTES,
  })

  async function fetchPage(
    query: string,
    offset: number,
    signal: AbortSignal,
  ): Promise<KaleyraSuccessEnvelope> {
    const started = performance.now()
    const path = `${pathPrefix}?${query}&limit=${pageSize}&offset=${offset}`
    let outcome: UpstreamOutcome = 'ok'
    try {
      const res = await pool.request({ method: 'GET', path, headers: { 'api-key': opts.apiKey }, signal })
      const text = await res.body.text()
      log.debug(
        { status: res.statusCode, offset, ms: Math.round(performance.now() - started) },
        'kaleyra page',
      )
      return readEnvelope(res.statusCode, res.headers['retry-after'], text, opts.clock.now())
    } catch (err) {
      const kind = toUpstreamError(err).kind
      outcome = kind === 'circuit_open' || kind === 'budget_exceeded' ? 'error' : kind
      throw err
    } finally {
      opts.observe?.(outcome, (performance.now() - started) / 1000)
    }
  }

  async function listPermissions(
    businesses: readonly string[],
    users: readonly string[],
    listOpts?: { priority?: Priority },
  ) {
    // Every value is percent-encoded: a bare + in a query string means a space.
    const query = `business_phone_number=${encodeList(businesses)}&user_phone_number=${encodeList(users)}`
    const deadline = createDeadline(opts.deadlineMs ?? 2 * opts.timeoutMs)
    const records: PermissionRecord[] = []
    try {
      let offset = 0
      for (let page = 0; ; page++) {
        if (page >= maxPages)
          throw new UpstreamError('error', `Kaleyra paging did not end within ${maxPages} pages`)
        const at = offset
        const env = await guard.run((signal) => fetchPage(query, at, signal), deadline, listOpts?.priority)
        for (const r of env.data) records.push(toRecord(r))
        if (!morePages(env, at, pageSize)) break
        offset = nextOffset(env, at)
      }
    } catch (err) {
      throw toUpstreamError(err)
    }
    return records
  }

  return {
    name: 'kaleyra',
    asksBsuid: false,
    batches: true,
    listPermissions,
    close: () => pool.close(),
  }
}

/**
 * Whether another page may hold records: a stricter record on a page never read would be missed. Without `total`,
 * only a page shorter than Kaleyra's `limit` (else its default, 25) is surely the last.
 */
export function morePages(env: KaleyraSuccessEnvelope, at: number, pageSize: number): boolean {
  if (env.offset !== undefined && env.offset !== at) {
    throw new UpstreamError('error', `Kaleyra answered offset ${env.offset} for offset ${at}`)
  }
  if (env.data.length === 0) return false
  if (env.total !== undefined) return nextOffset(env, at) < env.total
  return env.data.length >= (env.limit || Math.min(pageSize, DEFAULT_PAGE_SIZE))
}

/**
 * Where the next page starts: after the records received, or after `limit` of them when Kaleyra sent more than it
 * says a page holds (the smaller step never skips a record; reading one twice is harmless).
 */
export const nextOffset = (env: KaleyraSuccessEnvelope, at: number): number =>
  at + Math.min(env.data.length, env.limit || env.data.length)

function encodeList(numbers: readonly string[]): string {
  return numbers.map(encodeURIComponent).join(',')
}

/** Turns one HTTP answer into a success envelope, or throws the UpstreamError it means. */
export function readEnvelope(
  status: number,
  retryAfter: string | string[] | undefined,
  text: string,
  nowMs: number,
): KaleyraSuccessEnvelope {
  const body = parseJson(text)
  const code = checkCodeEnvelope.Check(body) ? body.code : undefined
  if (status === 401 || code === AUTH_FAILED_CODE) {
    return fail('auth_failed', `Kaleyra refused the credentials (${code ?? `HTTP ${status}`})`, status)
  }
  if (status === 429) {
    const retryAfterSeconds = parseRetryAfter(retryAfter, nowMs)
    throw new UpstreamError('rate_limited', 'Kaleyra rate-limited the gate (HTTP 429)', {
      status,
      retryAfterSeconds,
    })
  }
  if (status !== 200) return fail('error', `Kaleyra answered HTTP ${status}${code ? ` ${code}` : ''}`, status)
  if (body === undefined) return fail('error', 'Kaleyra answered with a body that is not JSON', status)
  if (code !== SUCCESS_CODE)
    return fail('error', `Kaleyra answered code ${code ?? '(none)'} instead of WA200`, status)
  if (!checkSuccessEnvelope.Check(body)) {
    const first = checkSuccessEnvelope.Errors(body)[0]
    return fail(
      'error',
      `Kaleyra answered a record the gate does not understand (${first?.instancePath} ${first?.message})`,
      status,
    )
  }
  return body
}

function fail(kind: 'auth_failed' | 'error', message: string, status: number): never {
  throw new UpstreamError(kind, message, { status })
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** Normalizes numbers and parses the expiry; a record that cannot be read is an upstream error, never a decision. */
function toRecord(r: KaleyraPermissionRecord): PermissionRecord {
  const business = normalizeUpstreamPhone(r.business_phone_number)
  const user = normalizeUpstreamPhone(r.user_phone_number)
  if (!business || !user)
    throw new UpstreamError('error', 'Kaleyra answered a record with an unreadable phone number')
  return {
    business,
    user,
    response: r.response,
    isPermanent: r.is_permanent,
    responseSource: r.response_source,
    canPerformAction: r.can_perform_action,
    expiresAtMs: parseExpiry(recordExpiry(r)),
  }
}

/**
 * ISO-8601 with a zone (as documented), or epoch seconds as digits (as Meta sends them), between 1970 and
 * LATEST_EPOCH_SECONDS: an expiry outside is no date Kaleyra meant (and past year 9999 none an answer can write).
 */
export function parseExpiry(value: string | null): number | null {
  if (value === null || value === '') return null
  const ms = readExpiry(value)
  if (ms !== undefined && ms >= 0 && ms <= LATEST_EPOCH_SECONDS * 1000) return ms
  throw new UpstreamError('error', 'Kaleyra answered an expiration timestamp the gate cannot read')
}

function readExpiry(value: string): number | undefined {
  if (/^\d{9,10}$/.test(value)) return Number(value) * 1000
  const iso = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.exec(value)
  if (!iso) return undefined
  const [y, m, d] = [Number(iso[1]), Number(iso[2]), Number(iso[3])]
  const ms = Date.parse(value)
  // Date.parse rolls 2025-02-30 over into March; a date that does not exist is unreadable, not a guess.
  return Number.isFinite(ms) && new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d ? ms : undefined
}
