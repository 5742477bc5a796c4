import pino, { type DestinationStream, type Logger } from 'pino'
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * Every header that can carry a secret, wherever it shows up in a log object. Belt and braces: the
 * serializers below already log no headers at all.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["api-key"]',
  'apiKey',
  'config.kaleyra.apiKey',
]

/**
 * Fastify's default request serializer logs the full URL, query string (phone numbers) included. This one logs
 * the route template only: a number typed into a path (`/can-call/%2B91...`) never reaches a log line either.
 */
function serializeRequest(req: FastifyRequest) {
  return { method: req.method, route: req.routeOptions.url ?? '(no route)', remoteAddress: req.ip }
}

function serializeReply(reply: FastifyReply) {
  return { statusCode: reply.statusCode }
}

export function createLogger(level: string, stream?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest, res: serializeReply, err: pino.stdSerializers.err },
  }
  // Asynchronous writes keep the decision log off the hot path; pino flushes them on exit.
  return pino(options, stream ?? pino.destination({ dest: 1, sync: false }))
}

/**
 * Fastify gives each request a child logger bound to its id, a pino child per request. Only `debug` lines use it
 * on the hot path; above `debug` requests share the app's logger and the few lines logged per request (errors,
 * admin actions) name `reqId` themselves.
 */
export function requestLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: pino.Bindings,
  opts: pino.ChildLoggerOptions,
): FastifyBaseLogger {
  const debugOn = (pino.levels.values[logger.level] ?? 0) <= pino.levels.values.debug!
  return debugOn || opts.level ? logger.child(bindings, opts) : logger
}

/**
 * Per-request lines drop to `debug`: at `info` the decision log already gives one line per check, and
 * the hot path should not pay for two more.
 */
export class GateLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request')
  }

  override requestCompleted(
    error: Error | null | undefined,
    _request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error)
      reply.log.error(
        { reqId: reply.request.id, res: reply, err: error, ms: reply.elapsedTime },
        'request errored',
      )
    else reply.log.debug({ res: reply, ms: reply.elapsedTime }, 'request completed')
  }
}
