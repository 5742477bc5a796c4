import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import pkg from '../../../package.json' with { type: 'json' }

const plugin: FastifyPluginAsync = async (app) => {
  await app.register(swagger, {
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
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

/**
 * Not encapsulated, unlike the route plugins: swagger must see the routes registered beside it, and openapi.ts
 * reads `app.swagger()` on the root. After caller auth, so the documents' routes inherit its hook.
 */
export const docs = fp(plugin, {
  name: 'consent-gate-docs',
  fastify: '5.x',
  dependencies: ['consent-gate-caller-auth'],
})
