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
  'config.meta.accessToken',
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
  return pino(options, stream ?? logDestination(1))
}

/** Bytes gathered before a write: about 60 decision lines, one write instead of one per answer. */
export const LOG_CHUNK_BYTES = 16 * 1024
/** The longest a line waits in that buffer on a quiet gate. */
export const LOG_FLUSH_MS = 100
/** UTF-8 takes at most 3 bytes per UTF-16 unit: a line of this many units always fits in an empty chunk. */
const MAX_UNITS_PER_CHUNK = Math.floor(LOG_CHUNK_BYTES / 3)

/** Line buffers still to flush when the process exits (one per destination: server.ts makes one). */
const unflushed = new Set<() => void>()
process.once('exit', () => unflushed.forEach((flushSync) => flushSync()))

/**
 * Asynchronous writes through pino's sonic-boom, each line encoded at once into an off-heap chunk that goes out
 * whole. Lines kept as strings until their write (as sonic-boom keeps them) outlive a young-generation collection
 * and are copied into the old one, with every string they are built from: at 20,000 checks/s that was 5 MB/s of
 * promoted garbage, and most of a cache hit's GC cost (bench/README.md, hit path). Encoded, a line dies young.
 * Nothing is lost on exit: the chunk in hand and sonic-boom's queue are written synchronously then.
 */
export function logDestination(
  dest: number | string,
  { flushEveryMs = LOG_FLUSH_MS }: { flushEveryMs?: number } = {},
): DestinationStream & { flush(done?: (err?: Error) => void): void } {
  const out = pino.destination({ dest, sync: false, contentMode: 'buffer' })
  let chunk = Buffer.allocUnsafeSlow(LOG_CHUNK_BYTES)
  let used = 0
  const flush = () => {
    if (used === 0) return
    const full = chunk.subarray(0, used)
    // sonic-boom keeps the chunk until written: the next lines go to a new one.
    chunk = Buffer.allocUnsafeSlow(LOG_CHUNK_BYTES)
    used = 0
    out.write(full as unknown as string)
  }
  setInterval(flush, flushEveryMs).unref()
  unflushed.add(() => {
    flush()
    try {
      out.flushSync()
    } catch {
      // A file not yet open, or a closed pipe: at exit nothing more can be done.
    }
  })
  return {
    /** `logger.flush()`: the lines in hand go out now, not at the next period (start-up and shutdown lines). */
    flush(done?: (err?: Error) => void) {
      flush()
      if (done) out.flush(done)
    },
    write(line: string) {
      if (line.length > MAX_UNITS_PER_CHUNK) {
        flush()
        out.write(Buffer.from(line) as unknown as string)
        return
      }
      if (used + line.length * 3 > LOG_CHUNK_BYTES) flush()
      used += chunk.write(line, used)
    },
  }
}
