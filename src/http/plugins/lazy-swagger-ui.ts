import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import fp from 'fastify-plugin'
import type { OpenApiDocument } from './lazy-openapi.js'

/** Where Swagger UI is served. */
export const DOCS_PREFIX = '/docs'
/**
 * The GET routes @fastify/swagger-ui 5 registers under its prefix, in its order; `/static/*` (GET and HEAD) is
 * @fastify/static's. Mirrored one for one, so routing, 404s, route labels and hooks stay what they were when the
 * plugin was registered at start (test/unit/http/plugins/lazy-docs.test.ts holds them against the plugin's own).
 */
export const SWAGGER_UI_ROUTES = [
  '/',
  '/static/index.html',
  '/static/swagger-initializer.js',
  '/json',
  '/yaml',
]
const STATIC_FILES = '/static/*'

/** The request headers Swagger UI's static files answer to (validators, ranges); nothing else is passed on. */
const FORWARDED = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'range',
  'if-range',
]
/** Set by the gate's own reply, not copied from the inner one. */
const NOT_COPIED = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding'])
/** Marks an inner answer that is an error, to be answered with the gate's envelope. */
const FAILED = 'x-swagger-ui-error'
/**
 * The path as the gate received it. inject() parses its URL as WHATWG does, folding `..` and reading `\` as `/`,
 * where @fastify/static judged the raw path (a `..` climbing out of its folder is a 403): the inner instance
 * routes on this header instead.
 */
const RAW_URL = 'x-swagger-ui-url'

/**
 * Swagger UI on an inner Fastify instance of its own, built on the first request to `/docs` and kept: the plugin,
 * @fastify/static and the scan of its files cost about a tenth of the gate's start-up, and a dialer never reads them.
 */
export async function createSwaggerUi(document: OpenApiDocument): Promise<FastifyInstance> {
  const { default: swaggerUi } = await import('@fastify/swagger-ui')
  const ui = Fastify({
    logger: false,
    rewriteUrl: (req) => {
      const raw = req.headers[RAW_URL]
      return typeof raw === 'string' ? raw : (req.url ?? '/')
    },
  })
  ui.setErrorHandler((err: FastifyError, _req, reply) =>
    reply
      .code(err.statusCode ?? 500)
      .header(FAILED, '1')
      .send({ message: err.message }),
  )
  // swagger-ui depends on a plugin named @fastify/swagger for the document: this one lends it the gate's.
  const lend = fp(
    async (inner: FastifyInstance) => {
      inner.decorate('swagger', document)
    },
    { name: '@fastify/swagger' },
  )
  await ui.register(lend)
  await ui.register(swaggerUi, { routePrefix: DOCS_PREFIX })
  await ui.ready()
  return ui
}

const plugin: FastifyPluginAsync = async (app) => {
  let ui: Promise<FastifyInstance> | undefined
  const load = () =>
    (ui ??= app
      .openapi()
      .then(createSwaggerUi)
      .catch((err: unknown) => {
        ui = undefined // the next request tries again
        throw err
      }))

  // `files`: the static files' route takes HEAD itself (as @fastify/static's does) and passes it on; the others
  // forward a GET and let Fastify's own HEAD route drop the body, as it did for the plugin's routes.
  const forward = (files: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const headers: Record<string, string> = { [RAW_URL]: req.url }
    for (const name of FORWARDED) {
      const value = req.headers[name]
      if (typeof value === 'string') headers[name] = value
    }
    const head = files && req.method === 'HEAD'
    const res = await (await load()).inject({ method: head ? 'HEAD' : 'GET', url: req.url, headers })
    // Errors and unknown files leave through the gate's own handlers, with its envelope.
    if (res.headers[FAILED])
      throw Object.assign(new Error(res.json<{ message: string }>().message), { statusCode: res.statusCode })
    if (res.statusCode === 404) return reply.callNotFound()
    for (const [name, value] of Object.entries(res.headers))
      if (value !== undefined && (!NOT_COPIED.has(name) || (head && name === 'content-length')))
        reply.header(name, value)
    reply.code(res.statusCode)
    return res.rawPayload.length > 0 ? reply.send(res.rawPayload) : reply.send()
  }

  const hide = { schema: { hide: true } }
  // A child with the prefix, as swagger-ui registers its routes: the same paths (`/docs` and `/docs/`), and the
  // root's hooks (caller auth, shedding) reach them as they reached the plugin's.
  await app.register(
    async (docs) => {
      for (const url of SWAGGER_UI_ROUTES) docs.get(url, hide, forward(false))
      docs.route({ method: ['HEAD', 'GET'], url: STATIC_FILES, ...hide, handler: forward(true) })
    },
    { prefix: DOCS_PREFIX },
  )
  app.addHook('onClose', async () => {
    if (ui) await (await ui.catch(() => undefined))?.close()
  })
}

/** Swagger UI at `/docs`, loaded on its first request. Needs `app.openapi()` (routes/docs.ts). */
export const lazySwaggerUi = fp(plugin, { name: 'consent-gate-swagger-ui', fastify: '5.x' })
