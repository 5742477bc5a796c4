import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { DecisionRecorder } from '../../observability/decision-log.js'
import type { GateMetrics } from '../../observability/metrics.js'
import { addRouteHook } from './route-hooks.js'

interface Options {
  recorder: DecisionRecorder
  metrics: GateMetrics
}

const plugin: FastifyPluginAsync<Options> = async (app, { recorder, metrics }) => {
  app.decorateRequest('decisions', null)
  // After the answer is sent: decision log lines and counters never delay a dialer. One callback hook per route
  // for both, built when the route is: an async hook would cost each request a promise.
  addRouteHook(app, 'onResponse', (route) => {
    const { url } = route
    // Only the check routes: the error handler fills req.decisions on any route, and a refused webhook or
    // call outcome is not a decision.
    const decisionLog = route.config?.decisionLog === true
    return (req, reply, done) => {
      metrics.observeRequest(url, reply.statusCode, reply.elapsedTime / 1000)
      if (decisionLog && req.decisions) for (const event of req.decisions) recorder.record(event)
      done()
    }
  })
  app.addHook('onResponse', (req, reply, done) => {
    if (req.is404) metrics.observeRequest('unmatched', reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
}

/**
 * `request.decisions`, filled by /can-call and the error handler, logged and counted once answered. A cache hit
 * records itself right after its answer is written (routes/can-call.ts), so it leaves none.
 */
export const decisions = fp(plugin, { name: 'consent-gate-decisions', fastify: '5.x' })
