import type { FastifyInstance } from 'fastify'
import underPressure from '@fastify/under-pressure'
import type { Config } from '../../config/load.js'
import { GateError } from '../../lib/errors.js'

/**
 * Under event-loop pressure a check is answered 503 `overloaded` at once instead of queueing until every
 * dialer times out. Public routes (probes, metrics) opt out through their route config.
 */
export async function registerShedding(
  app: FastifyInstance,
  shed: Config['shed'],
  sampleIntervalMs = 1000,
): Promise<void> {
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
