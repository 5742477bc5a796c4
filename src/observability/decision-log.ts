import pino, { type Logger } from 'pino'
import type { GateMetrics } from './metrics.js'
import type { DecisionBody } from '../schemas/can-call.js'
import type { ErrorBody } from '../schemas/errors.js'
import { isBsuid } from '../lib/identity.js'

/** What a /can-call answer leaves behind for the decision log and metrics. */
export interface DecisionEvent {
  business?: string
  user?: string
  body?: DecisionBody | ErrorBody
  upstreamMs?: number
}

/**
 * `+919876543210` -> `***3210`, `US.13491208655302741918` -> `US.***1918`: enough to join with call records, not
 * enough to dial or to message.
 */
export function maskNumber(user: string): string {
  if (!isBsuid(user)) return `***${user.slice(-4)}`
  // The id after the country (and ENT.): its last 4 characters at most, never all of a short one.
  const id = user.slice(user.lastIndexOf('.') + 1)
  return `${user.slice(0, 3)}***${id.length > 8 ? id.slice(-4) : ''}`
}

export interface DecisionRecorder {
  /** An answer a miss or the error handler left as an event (plugins/decisions.ts). */
  record(event: DecisionEvent): void
  /** A cache hit, from its parts: the hot path builds no event (routes/can-call.ts). */
  recordHit(
    allowed: boolean,
    reason: string,
    source: string,
    business: string,
    user: string,
    decisionId: string,
  ): void
}

/** One info line and one counter increment per answer of /can-call, errors included. */
export function createDecisionRecorder(opts: {
  logger: Logger
  metrics: GateMetrics
  userNumbers: 'masked' | 'full'
}): DecisionRecorder {
  const writeLine = decisionLineWriter(opts.logger.child({ module: 'decision' }))
  const showUser = opts.userNumbers === 'full' ? (u: string) => u : maskNumber
  return {
    record({ business, user, body, upstreamMs }) {
      if (!body) return
      const source = 'source' in body ? body.source : 'none'
      opts.metrics.countDecision(body.reason, source)
      writeLine(
        body.decision_id,
        body.allowed,
        body.reason,
        source,
        business,
        user === undefined ? undefined : showUser(user),
        upstreamMs === undefined ? undefined : Math.round(upstreamMs),
      )
    },
    recordHit(allowed, reason, source, business, user, decisionId) {
      opts.metrics.countDecision(reason, source)
      writeLine(decisionId, allowed, reason, source, business, showUser(user), undefined)
    },
  }
}

/** What pino's logger object keeps and a line needs: its bindings, pre-serialized, and its destination. */
interface PinoInternals {
  [pino.symbols.chindingsSym]: string
  [pino.symbols.streamSym]: { write(line: string): unknown }
}

const INFO = pino.levels.values.info!

/**
 * The decision line exactly as `log.info({ decision_id, allowed, reason, source, business, user, upstream_ms },
 * 'decision')` writes it for the loggers createLogger() makes (epoch `time`, `msg`, no formatters; a test holds it
 * to pino's own output): the child's bindings are pre-serialized by pino, and the line goes to the child's stream.
 * pino's generic walk of a fresh object per line cost ~2 µs of a cache hit (bench/README.md, hit path).
 */
export function decisionLineWriter(
  log: Logger,
): (
  decisionId: string | undefined,
  allowed: boolean,
  reason: string,
  source: string,
  business: string | undefined,
  user: string | undefined,
  upstreamMs: number | undefined,
) => void {
  const internals = log as unknown as PinoInternals
  const bindings = internals[pino.symbols.chindingsSym]
  const stream = internals[pino.symbols.streamSym]
  // Numbers come from a validated request, ids and reasons from the gate: JSON.stringify is belt and braces.
  const str = JSON.stringify
  return (decisionId, allowed, reason, source, business, user, upstreamMs) => {
    if (!log.isLevelEnabled('info')) return
    let line = `{"level":${INFO},"time":${Date.now()}${bindings}`
    if (decisionId !== undefined) line += `,"decision_id":${str(decisionId)}`
    line += `,"allowed":${allowed},"reason":${str(reason)},"source":${str(source)}`
    if (business !== undefined) line += `,"business":${str(business)}`
    if (user !== undefined) line += `,"user":${str(user)}`
    if (upstreamMs !== undefined) line += `,"upstream_ms":${upstreamMs}`
    stream.write(`${line},"msg":"decision"}\n`)
  }
}
