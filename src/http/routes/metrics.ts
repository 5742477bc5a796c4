import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { Registry } from 'prom-client'
import { PUBLIC_ROUTE } from './public.js'

/** Prometheus scrape endpoint; no caller token needed (it holds no phone number, key or token). */
export const metricsRoutes: FastifyPluginAsyncTypebox<{ registry: Registry }> = async (app, { registry }) => {
  app.get(
    '/metrics',
    {
      config: PUBLIC_ROUTE,
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text format 0.0.4' }) },
      },
    },
    async (_req, reply) => {
      void reply.type(registry.contentType)
      return registry.metrics()
    },
  )
}
