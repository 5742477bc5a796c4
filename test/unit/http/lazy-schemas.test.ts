import Fastify, { type FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import AjvCompiler from '@fastify/ajv-compiler'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import { lazySchemaCompilers } from '../../../src/http/lazy-schemas.js'

/** One route with a validated query and body and a serialized answer, on Fastify's compilers or the lazy ones. */
function app(lazy: boolean): FastifyInstance {
  const fastify = Fastify(lazy ? { schemaController: { compilersFactory: lazySchemaCompilers() } } : {})
  fastify.post(
    '/r',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { n: { type: 'integer', maximum: 5 }, flag: { type: 'boolean' } },
          required: ['n'],
        },
        body: { type: 'object', properties: { name: { type: 'string', maxLength: 3 } }, required: ['name'] },
        response: {
          200: { type: 'object', properties: { n: { type: 'integer' }, name: { type: 'string' } } },
        },
      },
    },
    async (req) => ({ ...(req.query as object), ...(req.body as object), secret: 'not in the schema' }),
  )
  return fastify
}

const requests = [
  { url: '/r?n=3&flag=true', payload: { name: 'abc' } },
  { url: '/r?n=9', payload: { name: 'abc' } },
  { url: '/r', payload: { name: 'abc' } },
  { url: '/r?n=x', payload: { name: 'abc' } },
  { url: '/r?n=1', payload: { name: 'abcd' } },
  { url: '/r?n=1', payload: {} },
  { url: '/r?n=2', payload: { name: 'ok' } },
]

describe('lazySchemaCompilers', () => {
  it("answers every request, valid or not, exactly as Fastify's own compilers do", async () => {
    const [eager, lazy] = [app(false), app(true)]
    for (const r of requests) {
      const [a, b] = await Promise.all([eager, lazy].map((f) => f.inject({ method: 'POST', ...r })))
      expect([b!.statusCode, b!.body], r.url).toEqual([a!.statusCode, a!.body])
    }
    expect((await lazy.inject({ method: 'POST', ...requests[0]! })).json()).toEqual({ n: 3, name: 'abc' })
  })

  it("compiles each schema on its route's first use, once", async () => {
    const compiled: string[] = []
    const validators = AjvCompiler()
    const serializers = SerializerSelector()
    const fastify = Fastify({
      schemaController: {
        compilersFactory: lazySchemaCompilers({
          buildValidator: (ext, opts) => {
            const compile = validators(ext, opts)
            return (route) => (compiled.push(`${route.url} ${route.httpPart}`), compile(route))
          },
          buildSerializer: (ext, opts) => {
            const compile = serializers(ext, opts)
            return (route) => (compiled.push(`${route.url} ${route.httpStatus}`), compile(route))
          },
        }),
      },
    })
    const schema = {
      querystring: { type: 'object', properties: { a: { type: 'string' } } },
      response: { 200: { type: 'object', properties: { a: { type: 'string' } } } },
    }
    fastify.get('/used', { schema }, (req) => req.query)
    fastify.get('/unused', { schema }, (req) => req.query)
    await fastify.ready()
    expect(compiled).toEqual([])
    for (let i = 0; i < 2; i++) expect((await fastify.inject('/used?a=1')).json()).toEqual({ a: '1' })
    expect(compiled.sort()).toEqual(['/used 200', '/used querystring'])
  })

  it('leaves no route of the gate with a schema that cannot compile (every one compiled eagerly)', async () => {
    const { buildApp } = await import('../../../src/http/app.js')
    const { loadConfig } = await import('../../../src/config/load.js')
    const { createLogger } = await import('../../../src/observability/logger.js')
    const config = loadConfig({
      KALEYRA_SID: 'S',
      KALEYRA_API_KEY: 'k',
      ADMIN_API_TOKEN: 'admin-token-0123456789',
      META_APP_SECRET: 'meta-secret-0123456789',
      META_VERIFY_TOKEN: 'verify-token-0123456789',
      WEBHOOK_BEARER_TOKEN: 'webhook-token-0123456789',
    })
    const gate = await buildApp(config, {
      eagerSchemas: true,
      defaultMetrics: false,
      logger: createLogger('silent'),
    })
    await expect(gate.ready()).resolves.toBeDefined()
    expect(gate.hasRoute({ method: 'DELETE', url: '/cache' })).toBe(true)
    await gate.close()
  })
})
