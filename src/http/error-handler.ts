import type { FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { GateError, errorBody, toGateError } from '../lib/errors.js'

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

/**
 * The first error that is not a type mismatch or a union's summary: a value that fails a union (expiration_timestamp)
 * fails every branch, and "must be string" from the branch it was never meant for hides the bound it broke.
 */
export function mainValidationError<E extends FastifySchemaValidationError>(
  errors: readonly E[],
): E | undefined {
  return errors.find((e) => e.keyword !== 'type' && e.keyword !== 'anyOf') ?? errors[0]
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

/** What Node's HTTP parser refuses before any route sees it, by its error code; anything else is a 400. */
const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'The request line and headers exceed 16 KiB.'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'The request did not arrive in time.'],
}

/**
 * A request Node could not parse (a URL or headers past 16 KiB, bytes that are not HTTP) never reaches Fastify's
 * error handler: Fastify's default answer has no `allowed`, so this writes the envelope to the socket instead.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'The request is not valid HTTP.']
  const body = JSON.stringify(errorBody(new GateError('invalid_request', message, { statusCode: status })))
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  }
  socket.destroy(err)
}
