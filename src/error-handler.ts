import type { FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify'
import { GateError, errorBody, toGateError } from './errors.js'

/** Turns a schema validation error into "<which parameter> <why>". */
export function describeValidation(e: FastifySchemaValidationError | undefined): string {
  if (!e) return 'the request is invalid'
  const params = e.params as { missingProperty?: string; type?: string; limit?: number }
  const name = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'the request'
  if (e.keyword === 'required' && params.missingProperty) {
    return `${name === 'the request' ? '' : `${name}.`}${params.missingProperty} is required`
  }
  if (e.keyword === 'type' && params.type === 'string')
    return `${name} must be given exactly once, as a string`
  if (e.keyword === 'type' && params.type === 'boolean') return `${name} must be true or false`
  return `${name} ${e.message ?? 'is invalid'}`
}

/** Every error leaves as `{ allowed: false, reason, message }`: dialers never have to parse anything else. */
export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply) {
  const gate = toGateError(err)
  const body = errorBody(gate)
  const pair = req.decisions?.length === 1 ? req.decisions[0] : undefined
  req.decisions = [{ ...pair, body }]
  if (gate.statusCode === 401) void reply.header('www-authenticate', 'Bearer')
  if (gate.statusCode >= 500) {
    void reply.header('retry-after', String(gate.retryAfterSeconds ?? 1))
    // Only the cause's code: error messages from lower layers are not ours to vouch for.
    const cause = (gate.cause as { cause?: { code?: string } } | undefined)?.cause?.code
    const fields = {
      reqId: req.id,
      reason: gate.reason,
      decision_id: body.decision_id,
      detail: gate.message,
      cause,
    }
    if (gate.reason === 'internal_error') req.log.error({ ...fields, err }, 'check failed closed')
    else req.log.warn(fields, 'check failed closed')
  }
  return reply.code(gate.statusCode).send(body)
}

export function notFoundHandler(req: FastifyRequest, reply: FastifyReply) {
  const path = req.url.split('?')[0] ?? ''
  // The path is echoed without its query string (phone numbers).
  return reply.code(404).send(errorBody(new GateError('not_found', `No route ${req.method} ${path}`)))
}
