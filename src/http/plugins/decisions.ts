import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import { createDecisionRecorder } from '../../observability/decision-log.js'
import type { GateMetrics } from '../../observability/metrics.js'

interface Options {
  logger: Logger
  metrics: GateMetrics
  userNumbers: 'masked' | 'full'
}

const plugin: FastifyPluginAsync<Options> = async (app, { logger, metrics, userNumbers }) => {
  const recorder = createDecisionRecorder({ logger, metrics, userNumbers })
  app.decorateRequest('decisions', null)
  // After the answer is sent: decision log lines and counters never delay a dialer. One callback hook for both:
  // each hook costs every request a step of Fastify's hook runner, and an async one a promise too.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.observeRequest(req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
    // Only the check routes: the error handler fills req.decisions on any route, and a refused webhook or
    // call outcome is not a decision.
    if (req.decisions && req.routeOptions.config.decisionLog)
      for (const event of req.decisions) recorder.record(event)
    done()
  })
}

/** `request.decisions`, filled by /can-call and the error handler, logged and counted once answered. */
export const decisions = fp(plugin, { name: 'consent-gate-decisions', fastify: '5.x' })
