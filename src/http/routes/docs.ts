import type { FastifyPluginAsync, RouteOptions } from 'fastify'
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import fp from 'fastify-plugin'
import { buildOpenApi, type OpenApiDocument } from '../plugins/lazy-openapi.js'
import { lazySwaggerUi } from '../plugins/lazy-swagger-ui.js'
import pkg from '../../../package.json' with { type: 'json' }

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenAPI document of the routes registered after the docs plugin, built on the first call. */
    openapi: () => Promise<OpenApiDocument>
  }
}

const OPTIONS: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'consent-gate',
      version: pkg.version,
      description:
        'Asks Kaleyra, before every outbound WhatsApp Business voice call, whether this business number may ' +
        'call this user now, and answers yes or no with the reason. Fails closed.',
    },
    tags: [
      { name: 'consent', description: 'Pre-call consent checks' },
      { name: 'events', description: 'Permission replies and call outcomes pushed to the gate' },
      { name: 'operations', description: 'Health, readiness, metrics, invalidation and documents' },
    ],
  },
}

const plugin: FastifyPluginAsync = async (app) => {
  // What @fastify/swagger's own onRoute hook would collect, here at start; the document is built on first use.
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => {
    routes.push(route)
  })
  let ready = false
  app.addHook('onReady', async () => {
    ready = true
  })
  let document: Promise<OpenApiDocument> | undefined
  app.decorate('openapi', () => {
    // Before ready, routes may still be coming: a document built then would be kept without them.
    if (!ready) return Promise.reject(new Error('app.openapi() must be called after app.ready()'))
    document ??= buildOpenApi(routes, OPTIONS, app.getSchemas()).catch((err: unknown) => {
      document = undefined // the next request tries again
      throw err
    })
    return document
  })
  await app.register(lazySwaggerUi)
  app.get('/openapi.json', { schema: { hide: true } }, async () => (await app.openapi())())
}

/**
 * Not encapsulated, unlike the route plugins: its hook must see the routes registered beside it, and openapi.ts
 * reads `app.openapi()` on the root. After caller auth, so the documents' routes inherit its hook.
 */
export const docs = fp(plugin, {
  name: 'consent-gate-docs',
  fastify: '5.x',
  dependencies: ['consent-gate-caller-auth'],
})
