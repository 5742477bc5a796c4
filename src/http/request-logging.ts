import pino from 'pino'
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'

const DEBUG = pino.levels.values.debug!
/** Whether per-request lines are logged (debug or lower). */
export const debugOn = (log: FastifyBaseLogger) => (pino.levels.values[log.level] ?? Infinity) <= DEBUG

/**
 * A pino child per request costs the hot path, and only `debug` lines need it: above `debug` requests share the
 * app's logger, and the few lines logged per request (errors, admin actions) name `reqId` themselves.
 */
export function requestLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: pino.Bindings,
  opts: pino.ChildLoggerOptions,
): FastifyBaseLogger {
  return debugOn(logger) || opts.level ? logger.child(bindings, opts) : logger
}

/**
 * Per-request lines drop to `debug`: at `info` the decision log already gives one line per check, and
 * the hot path should not pay for two more.
 */
export class GateLogController extends LogController {
  // Each line's fields are an object built per request even when the level drops the line: asked first.
  override incomingRequest(request: FastifyRequest): void {
    if (debugOn(request.log)) request.log.debug({ req: request }, 'incoming request')
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
    else if (debugOn(reply.log)) reply.log.debug({ res: reply, ms: reply.elapsedTime }, 'request completed')
  }
}
