import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import type { Config } from '../../config/load.js'
import { GateError } from '../../lib/errors.js'

interface Options {
  shed: Config['shed']
  /** How often the event loop is sampled (ms). Default 1000; tests sample faster. */
  sampleIntervalMs?: number
}

const plugin: FastifyPluginAsync<Options> = async (app, { shed, sampleIntervalMs = 1000 }) => {
  const { maxEventLoopDelayMs, maxEventLoopUtilization, maxHeapUsedBytes, retryAfterSeconds } = shed
  if (maxEventLoopDelayMs === 0 && maxEventLoopUtilization === 0 && maxHeapUsedBytes === 0) return
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxEventLoopUtilization,
    maxHeapUsedBytes,
    sampleInterval: sampleIntervalMs,
    // Rejecting hands the error to the app's error handler: same body, Retry-After and metrics as any 503.
    pressureHandler: async (_req, _reply, type) => {
      throw new GateError(
        'overloaded',
        `The gate is overloaded (${type}); retry after ${retryAfterSeconds} s.`,
        {
          retryAfterSeconds,
        },
      )
    },
  })
}

/**
 * Under event-loop pressure a check is answered 503 `overloaded` at once instead of queueing until every dialer
 * times out; probes and metrics opt out (PUBLIC_ROUTE). After draining: a gate that shuts down says so, however loaded.
 */
export const shedding = fp(plugin, {
  name: 'consent-gate-shedding',
  fastify: '5.x',
  dependencies: ['consent-gate-draining'],
})
