import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { createBasicCheck, createBearerCheck } from '../auth.js'
import type { Config } from '../../config/load.js'
import { permissionReplies } from './permission-replies.js'
import { KaleyraCallback } from '../../schemas/webhooks.js'
import { OWN_AUTH_ROUTE } from './public.js'
import { WEBHOOK_RESPONSES, type Deliveries } from './webhook-deliveries.js'

type Options = Pick<Config['webhooks'], 'bearerToken' | 'basicAuth'> & { deliveries: Deliveries }

/** POST /webhooks/kaleyra: either credential is accepted, as Kaleyra callback profiles send one or the other. */
export const kaleyraWebhookRoutes: FastifyPluginAsyncTypebox<Options> = async (
  app,
  { bearerToken, basicAuth, deliveries },
) => {
  const bearer = bearerToken ? createBearerCheck([bearerToken]) : () => false
  const basic = basicAuth ? createBasicCheck(basicAuth) : () => false
  app.post(
    '/webhooks/kaleyra',
    {
      config: OWN_AUTH_ROUTE,
      onRequest: async (req: FastifyRequest) => {
        const auth = req.headers.authorization
        if (!bearer(auth) && !basic(auth))
          throw deliveries.refuse('kaleyra_webhook', 'The callback credentials are not valid.')
      },
      schema: {
        tags: ['events'],
        summary: 'Kaleyra callback: permission replies (Meta messages value passed through)',
        description:
          'Auth: Authorization Bearer WEBHOOK_BEARER_TOKEN or Basic WEBHOOK_BASIC_AUTH, as Kaleyra callback ' +
          'profiles send them. Each call_permission_reply is applied once; other message types are ignored.',
        body: KaleyraCallback,
        response: WEBHOOK_RESPONSES,
      },
    },
    async (req) => deliveries.apply('kaleyra_webhook', permissionReplies(req.body.meta_object.value)),
  )
}
