import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HealthBody, ReadyBody } from '../../schemas/health.js'
import { PUBLIC_ROUTE } from './public.js'
import type { CircuitBreaker } from '../../upstream/breaker.js'
import type { SharedTier } from '../../shared/port.js'
import type { Lifecycle } from '../plugins/lifecycle.js'

/** Redis trouble degrades the gate (each sidecar on its own), it does not make it unready. */
const sharedMode = (shared?: Pick<SharedTier, 'up'>) =>
  shared ? (shared.up ? 'connected' : 'degraded') : 'off'

/** Liveness (no I/O) and readiness (listening with a valid config, not shutting down). */
export const healthRoutes: FastifyPluginAsyncTypebox<{
  lifecycle: Lifecycle
  breaker: Pick<CircuitBreaker, 'state'>
  shared?: Pick<SharedTier, 'up'>
}> = async (app, opts) => {
  app.get(
    '/healthz',
    {
      config: PUBLIC_ROUTE,
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        response: { 200: HealthBody },
      },
    },
    async () => ({ status: 'ok' as const }),
  )
  app.get(
    '/readyz',
    {
      config: PUBLIC_ROUTE,
      schema: {
        tags: ['operations'],
        summary: 'Readiness: listening with a valid config, not shutting down',
        response: { 200: ReadyBody, 503: ReadyBody },
      },
    },
    async (_req, reply) => {
      const state = opts.lifecycle.state
      return reply.code(state === 'ready' ? 200 : 503).send({
        status: state,
        upstream: { circuit: opts.breaker.state },
        shared: { mode: sharedMode(opts.shared) },
      })
    },
  )
}
