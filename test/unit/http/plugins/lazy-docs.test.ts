import { describe, expect, it } from 'vitest'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import swagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Type from 'typebox'
import { buildOpenApi } from '../../../../src/http/plugins/lazy-openapi.js'
import {
  DOCS_PREFIX,
  SWAGGER_UI_ROUTES,
  lazySwaggerUi,
} from '../../../../src/http/plugins/lazy-swagger-ui.js'

const OPTIONS: FastifyDynamicSwaggerOptions = {
  openapi: { openapi: '3.1.0', info: { title: 't', version: '1.2.3' }, tags: [{ name: 'a' }] },
}

// A subschema with an $id (as TypeBox's recursive types make): @fastify/swagger collects it into the components.
const Node = {
  type: 'object',
  properties: { leaf: { $id: 'Leaf', type: 'object', properties: { id: { type: 'string' } } } },
} as const

/** Routes of every shape the gate has: query and body schemas, several statuses, hidden, prefixed, HEAD twins. */
async function addRoutes(app: FastifyInstance): Promise<void> {
  const ok = async () => ({})
  app.get(
    '/check',
    {
      schema: {
        tags: ['a'],
        summary: 'A check',
        querystring: Type.Object({
          user: Type.String({ pattern: '^\\+[0-9]{8,15}$' }),
          fresh: Type.Optional(Type.Boolean()),
        }),
        response: {
          200: Type.Object({ allowed: Type.Boolean() }),
          503: Type.Object({ reason: Type.Literal('x') }),
        },
      },
    },
    ok,
  )
  app.post('/tree', { schema: { tags: ['a'], body: Node, response: { 200: Node } } }, ok)
  app.get('/hidden', { schema: { hide: true } }, ok)
  app.route({ method: ['GET', 'HEAD'], url: '/both', schema: { tags: ['a'] }, handler: ok })
  await app.register(
    async (child) =>
      child.delete('/item/:id', { schema: { tags: ['a'], params: Type.Object({ id: Type.String() }) } }, ok),
    {
      prefix: '/v1',
    },
  )
}

describe('buildOpenApi', () => {
  it('builds, on first use, the document @fastify/swagger registered at start builds', async () => {
    const eager = Fastify()
    await eager.register(swagger, OPTIONS)
    await addRoutes(eager)
    await eager.ready()

    const gate = Fastify()
    const routes: RouteOptions[] = []
    gate.addHook('onRoute', (route) => {
      routes.push(route)
    })
    await addRoutes(gate)
    await gate.ready()
    const document = await buildOpenApi(routes, OPTIONS, gate.getSchemas())

    expect(document()).toEqual(eager.swagger())
    expect(document({ yaml: true })).toBe(eager.swagger({ yaml: true }))
    expect(Object.keys(document().paths ?? {})).toEqual(['/check', '/tree', '/both', '/v1/item/{id}'])
    await Promise.all([eager.close(), gate.close()])
  })
})

describe('lazySwaggerUi', () => {
  const routesOf = (app: FastifyInstance) => {
    const routes: string[] = []
    app.addHook('onRoute', (route) => {
      routes.push(`${String(route.method)} ${route.url}`)
    })
    return routes
  }

  it('registers at start exactly the routes @fastify/swagger-ui registers, without loading it', async () => {
    const eager = Fastify()
    const expected = routesOf(eager)
    await eager.register(swagger, OPTIONS)
    await eager.register(swaggerUi, { routePrefix: DOCS_PREFIX })
    await eager.ready()

    const lazy = Fastify()
    const registered = routesOf(lazy)
    let asked = 0
    lazy.decorate('openapi', async () => {
      asked++
      return lazy.swagger
    })
    await lazy.register(lazySwaggerUi)
    await lazy.ready()

    expect(registered).toEqual(expected)
    expect(
      expected.filter((r) => r.startsWith('GET ')).map((r) => r.slice(`GET ${DOCS_PREFIX}`.length) || '/'),
    ).toEqual(SWAGGER_UI_ROUTES)
    expect(asked).toBe(0)
    await Promise.all([eager.close(), lazy.close()])
  })
})
