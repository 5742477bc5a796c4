import type { DecisionEvent } from './decision-log.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** What this /can-call answer leaves for the decision log; null on other routes. */
    decision: DecisionEvent | null
  }
  interface FastifyContextConfig {
    /** Probes and metrics: no caller token, never shed. */
    public?: boolean
  }
}
