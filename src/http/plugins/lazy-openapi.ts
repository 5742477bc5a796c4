import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger'

/** @fastify/swagger's document function: the object, or `{ yaml: true }` for the YAML text; built once, kept. */
export type OpenApiDocument = FastifyInstance['swagger']

const noop = () => undefined

/**
 * The OpenAPI document of `routes`, built when first asked for: @fastify/swagger (and the YAML library it loads)
 * cost about a tenth of the gate's start-up, and a dialer never reads the document. The routes are registered
 * again, as they were given, on an inner Fastify instance that only @fastify/swagger reads: it sees what it would
 * have seen registered on the gate itself, so the document is the same, byte for byte.
 */
export async function buildOpenApi(
  routes: readonly RouteOptions[],
  options: FastifyDynamicSwaggerOptions,
  sharedSchemas: Record<string, unknown>,
): Promise<OpenApiDocument> {
  const { default: swagger } = await import('@fastify/swagger')
  const doc = Fastify({ logger: false })
  // Only read, never run: the gate compiled these schemas already.
  doc.setValidatorCompiler(() => () => true)
  doc.setSerializerCompiler(() => (data) => JSON.stringify(data))
  for (const schema of Object.values(sharedSchemas)) doc.addSchema(schema)
  await doc.register(swagger, options)
  for (const route of routes) {
    // Fastify's own HEAD twins of GET routes: @fastify/swagger leaves them out, and registering them again would clash.
    if (route.method === 'HEAD') continue
    const { method, url, schema, config, constraints, links } = route as RouteOptions & { links?: unknown }
    doc.route({ method, url, schema, config, constraints, links, exposeHeadRoute: false, handler: noop })
  }
  await doc.ready()
  const document = doc.swagger.bind(doc)
  document() // builds and caches it now, so the next calls only read
  await doc.close()
  return document
}
