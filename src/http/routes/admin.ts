import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { createBearerCheck } from '../auth.js'
import type { ConsentEvents } from '../../consent/events/events.js'
import { requirePhone } from '../../lib/phone.js'
import { requireUser } from '../../lib/identity.js'
import { GateError, invalidRequest } from '../../lib/errors.js'
import type { GateMetrics } from '../../observability/metrics.js'
import { PhoneParam, UserParam } from '../../schemas/can-call.js'
import { InvalidRequestBody, UnauthorizedBody } from '../../schemas/errors.js'
import { OWN_AUTH_ROUTE } from './public.js'

/** Invalidation for operators, behind ADMIN_API_TOKEN (its own secret, not a caller token); reaches every gate. */
export const adminRoutes: FastifyPluginAsyncTypebox<{
  token: string
  events: Pick<ConsentEvents, 'evict' | 'identityOf'>
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
        querystring: Type.Object({ business: Type.Optional(PhoneParam), user: Type.Optional(UserParam) }),
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
      const scope = business === undefined ? undefined : requirePhone('business', business)
      const asked = user === undefined ? undefined : requireUser('user', user)
      // A BSUID's pair lives under its linked number too (lookup.ts): both go.
      const users = asked === undefined ? [undefined] : [...new Set([asked, await events.identityOf(asked)])]
      let evicted = 0
      for (const u of users) evicted += await events.evict({ business: scope, user: u })
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
