import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { createBearerCheck } from '../auth.js'
import type { ConsentEvents } from '../../consent/events/events.js'
import { requirePhone } from '../../lib/phone.js'
import { GateError, invalidRequest } from '../../lib/errors.js'
import type { GateMetrics } from '../../observability/metrics.js'
import { PhoneParam } from '../../schemas/can-call.js'
import { InvalidRequestBody, UnauthorizedBody } from '../../schemas/errors.js'
import { OWN_AUTH_ROUTE } from './public.js'

/** Invalidation for operators, behind ADMIN_API_TOKEN (its own secret, not a caller token); reaches every gate. */
export const adminRoutes: FastifyPluginAsyncTypebox<{
  token: string
  events: Pick<ConsentEvents, 'evict'>
  metrics: GateMetrics
}> = async (app, { token, events, metrics }) => {
  const check = createBearerCheck([token])
  app.delete(
    '/cache',
    {
      config: OWN_AUTH_ROUTE,
      onRequest: async (req) => {
        if (!check(req.headers.authorization))
          throw new GateError('unauthorized', 'Send Authorization: Bearer ADMIN_API_TOKEN.')
      },
      schema: {
        tags: ['operations'],
        summary: 'Evict cached decisions: one pair, every pair of a business, or everything',
        description:
          '?business=&user= evicts one pair; ?business= every pair of that business; no parameter, all.',
        querystring: Type.Object({ business: Type.Optional(PhoneParam), user: Type.Optional(PhoneParam) }),
        response: {
          200: Type.Object({ evicted: Type.Integer({ description: 'decisions dropped' }) }),
          400: InvalidRequestBody,
          401: UnauthorizedBody,
        },
      },
    },
    async (req) => {
      const { business, user } = req.query
      if (user !== undefined && business === undefined) throw invalidRequest('user needs business')
      const evicted = await events.evict({
        business: business === undefined ? undefined : requirePhone('business', business),
        user: user === undefined ? undefined : requirePhone('user', user),
      })
      metrics.evictions.inc({ cause: 'admin' }, evicted)
      req.log.info(
        {
          reqId: req.id,
          evicted,
          scope: business === undefined ? 'all' : user === undefined ? 'business' : 'pair',
        },
        'cache evicted',
      )
      return { evicted }
    },
  )
}
