import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { createBearerCheck } from '../auth.js'
import { GateError } from '../../lib/errors.js'
import { addRouteHook } from './route-hooks.js'

const plugin: FastifyPluginAsync<{ tokens: readonly string[] }> = async (app, { tokens }) => {
  if (tokens.length === 0) return
  const check = createBearerCheck(tokens)
  // Callback hooks, as every hook on the hot path: an async one costs each request a promise.
  const guard = (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (check(req.headers.authorization)) return done()
    done(
      new GateError(
        'unauthorized',
        req.headers.authorization === undefined
          ? 'Missing Authorization header: send Authorization: Bearer <token>.'
          : 'The bearer token is not one the gate knows.',
      ),
    )
  }
  addRouteHook(app, 'onRequest', (route) => (route.config?.callerAuth === false ? undefined : guard))
  // Unknown paths too: a 404 tells a caller without a token nothing about which routes exist.
  app.addHook('onRequest', (req, reply, done) => (req.is404 ? guard(req, reply, done) : done()))
}

/**
 * With GATE_API_TOKENS set, every route needs a bearer token but those that opt out (probes, metrics, and the
 * webhook and admin routes, which check their own secrets). On the root instance so it also guards 404s and
 * the documents; after shedding, so an overloaded gate spends nothing on hashing tokens.
 */
export const callerAuth = fp(plugin, {
  name: 'consent-gate-caller-auth',
  fastify: '5.x',
  dependencies: ['consent-gate-shedding'],
})
