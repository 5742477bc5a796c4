import type { FastifyInstance } from 'fastify'
import { createBearerCheck } from '../auth.js'
import { GateError } from '../../lib/errors.js'

/**
 * With GATE_API_TOKENS set, every route needs a bearer token but those that opt out (probes, metrics, and the
 * webhook and admin routes, which check their own secrets).
 * Registered on the root instance so it also guards 404s and the documents.
 */
export function registerCallerAuth(app: FastifyInstance, tokens: readonly string[]): void {
  if (tokens.length === 0) return
  const check = createBearerCheck(tokens)
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.config.callerAuth === false) return
    if (!check(req.headers.authorization)) {
      throw new GateError(
        'unauthorized',
        req.headers.authorization === undefined
          ? 'Missing Authorization header: send Authorization: Bearer <token>.'
          : 'The bearer token is not one the gate knows.',
      )
    }
  })
}
