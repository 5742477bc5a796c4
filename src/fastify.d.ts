import type { DecisionEvent } from './decision-log.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** What the /can-call answers of this request leave for the decision log; null on other routes. */
    decisions: DecisionEvent[] | null
  }
  interface FastifyContextConfig {
    /** Probes and metrics: no caller token, never shed. */
    public?: boolean
  }
}
