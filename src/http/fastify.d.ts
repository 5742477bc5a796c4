import type { DecisionEvent } from '../observability/decision-log.js'
import type { Lifecycle } from './plugins/lifecycle.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Starting, ready once listening, shutting down once closing (plugins/lifecycle.ts). */
    lifecycle: Lifecycle
  }
  interface FastifyRequest {
    /** What the /can-call answers of this request leave for the decision log; null on other routes. */
    decisions: DecisionEvent[] | null
  }
  interface FastifyContextConfig {
    /** false: no caller token (probes and metrics; webhooks and admin routes check their own secrets). */
    callerAuth?: boolean
    /** true: each answer of this route is a decision (log line and consent_gate_decisions_total): /can-call only. */
    decisionLog?: boolean
    /** true: still answered while the gate shuts down (probes and metrics); other routes answer 503 then. */
    whileDraining?: boolean
  }
}
