import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../../config/load.js'
import type { ConsentEvents } from '../../consent/events/events.js'
import type { GateMetrics } from '../../observability/metrics.js'
import { createDeliveries } from './webhook-deliveries.js'
import { kaleyraWebhookRoutes } from './webhook-kaleyra.js'
import { metaHandshakeRoutes, metaWebhookRoutes } from './webhook-meta.js'

type Options = { webhooks: Config['webhooks']; events: ConsentEvents; metrics: GateMetrics }

/** Permission replies pushed in: each surface is registered only when its secret is configured. */
export const webhookRoutes: FastifyPluginAsyncTypebox<Options> = async (
  app,
  { webhooks, events, metrics },
) => {
  const deliveries = createDeliveries(events, metrics)

  // Counted here rather than in the handlers: most 400s (schema, unreadable JSON) are sent before one runs.
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode !== 400) return
    metrics.events.inc({
      kind: req.url.startsWith('/webhooks/meta') ? 'meta_webhook' : 'kaleyra_webhook',
      result: 'invalid',
    })
  })

  const { bearerToken, basicAuth, metaAppSecret, metaVerifyToken } = webhooks
  if (bearerToken || basicAuth)
    await app.register(kaleyraWebhookRoutes, { bearerToken, basicAuth, deliveries })
  if (metaAppSecret) await app.register(metaWebhookRoutes, { appSecret: metaAppSecret, deliveries })
  if (metaVerifyToken) await app.register(metaHandshakeRoutes, { verifyToken: metaVerifyToken })
}
