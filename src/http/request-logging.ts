import pino from 'pino'
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * A pino child per request costs the hot path, and only `debug` lines need it: above `debug` requests share the
 * app's logger, and the few lines logged per request (errors, admin actions) name `reqId` themselves.
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
