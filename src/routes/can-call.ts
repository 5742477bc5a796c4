import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import { invalidRequest } from '../errors.js'
import { parsePhone } from '../consent/phone.js'
import type { ConsentLookup, LookupResult } from '../consent/lookup.js'
import { CanCallQuery, DecisionBody } from '../schemas/can-call.js'
import { InvalidRequestBody, UnavailableBody } from '../schemas/errors.js'

/** The one question dialers ask before every call. */
export const canCallRoutes: FastifyPluginAsyncTypebox<{ lookup: ConsentLookup }> = async (
  app,
  { lookup },
) => {
  app.get(
    '/can-call',
    {
      schema: {
        tags: ['consent'],
        summary: 'May this business number call this user now?',
        description:
          'Answers from the cache, or asks Kaleyra on a miss. 200 is a decision (allowed or not, with the reason); ' +
          '503 means Kaleyra could not answer and the gate fails closed.',
        querystring: CanCallQuery,
        response: { 200: DecisionBody, 400: InvalidRequestBody, 503: UnavailableBody },
      },
    },
    async (req) => {
      const business = phoneParam('business', req.query.business)
      const user = phoneParam('user', req.query.user)
      const result = await lookup.check(business, user, { fresh: req.query.fresh === true })
      return decisionBody(result, business, user)
    },
  )
}

function phoneParam(name: string, raw: string): string {
  const parsed = parsePhone(raw)
  if (!parsed.ok) throw invalidRequest(`${name} ${parsed.why}; expected E.164 such as +919876543210`)
  return parsed.value
}

export function decisionBody(
  { decision, source }: LookupResult,
  business: string,
  user: string,
): DecisionBody {
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    business,
    user,
    consent: decision.consent,
    source,
    checked_at: new Date(decision.checkedAtMs).toISOString(),
    decision_id: randomUUID(),
  }
}
