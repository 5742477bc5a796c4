import pino, { type DestinationStream, type Logger } from 'pino'

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
function serializeRequest(req: { method: string; routeOptions: { url?: string }; ip: string }) {
  return { method: req.method, route: req.routeOptions.url ?? '(no route)', remoteAddress: req.ip }
}

function serializeReply(reply: { statusCode: number }) {
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
