import type { Logger } from 'pino'
import type { GateMetrics } from './metrics.js'
import type { DecisionBody } from '../schemas/can-call.js'
import type { ErrorBody } from '../schemas/errors.js'

/** What a /can-call answer leaves behind for the decision log and metrics. */
export interface DecisionEvent {
  business?: string
  user?: string
  body?: DecisionBody | ErrorBody
  upstreamMs?: number
}

/** `+919876543210` -> `***3210`: enough to join with call records, not enough to dial. */
export function maskNumber(e164: string): string {
  return `***${e164.slice(-4)}`
}

export interface DecisionRecorder {
  record(event: DecisionEvent): void
}

/** One info line and one counter increment per answer of /can-call, errors included. */
export function createDecisionRecorder(opts: {
  logger: Logger
  metrics: GateMetrics
  userNumbers: 'masked' | 'full'
}): DecisionRecorder {
  const log = opts.logger.child({ module: 'decision' })
  const showUser = opts.userNumbers === 'full' ? (u: string) => u : maskNumber
  return {
    record({ business, user, body, upstreamMs }) {
      if (!body) return
      const source = 'source' in body ? body.source : 'none'
      opts.metrics.countDecision(body.reason, source)
      log.info(
        {
          decision_id: body.decision_id,
          allowed: body.allowed,
          reason: body.reason,
          source,
          business,
          user: user === undefined ? undefined : showUser(user),
          upstream_ms: upstreamMs === undefined ? undefined : Math.round(upstreamMs),
        },
        'decision',
      )
    },
  }
}
