import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { GateError } from '../../lib/errors.js'

/** Seconds a caller is told to wait: by then the dialer's next gate (or this pod's successor) answers. */
const DRAIN_RETRY_AFTER_SECONDS = 1
const DRAIN_MESSAGE = `The gate is shutting down and takes no new requests; retry after ${DRAIN_RETRY_AFTER_SECONDS} s.`

const plugin: FastifyPluginAsync = async (app) => {
  const lifecycle = app.lifecycle
  // Callback hooks, as every hook on the hot path: an async one costs each request a promise.
  app.addHook('onRequest', (req, _reply, done) => {
    if (lifecycle.state !== 'shutting_down' || req.routeOptions.config.whileDraining === true) return done()
    done(new GateError('overloaded', DRAIN_MESSAGE, { retryAfterSeconds: DRAIN_RETRY_AFTER_SECONDS }))
  })
  app.addHook('onSend', (_req, reply, payload, done) => {
    // A keep-alive connection whose check finishes while draining would otherwise hold close() open.
    if (lifecycle.state === 'shutting_down') void reply.header('connection', 'close')
    done(null, payload)
  })
}

/**
 * Requests arriving while the gate drains get its own 503 `overloaded` envelope: Fastify's return503OnClosing
 * answer (off in app.ts) has no `allowed`, so a dialer could not read it as a refusal. Probes and metrics
 * (`whileDraining`) still answer, since /readyz saying `shutting_down` is what takes the pod out of its Service.
 */
export const draining = fp(plugin, {
  name: 'consent-gate-draining',
  fastify: '5.x',
  dependencies: ['consent-gate-lifecycle'],
})
