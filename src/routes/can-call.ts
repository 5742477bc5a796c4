import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import { invalidRequest } from '../errors.js'
import type { DecisionEvent, DecisionRecorder } from '../decision-log.js'
import { parsePhone } from '../consent/phone.js'
import type { ConsentLookup, LookupResult } from '../consent/lookup.js'
import { CanCallQuery, DecisionBody } from '../schemas/can-call.js'
import { InvalidRequestBody, UnauthorizedBody, UnavailableBody } from '../schemas/errors.js'

/** The one question dialers ask before every call. */
export const canCallRoutes: FastifyPluginAsyncTypebox<{
  lookup: ConsentLookup
  recorder: DecisionRecorder
}> = async (app, { lookup, recorder }) => {
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
        response: { 200: DecisionBody, 400: InvalidRequestBody, 401: UnauthorizedBody, 503: UnavailableBody },
      },
    },
    async (req) => {
      const business = phoneParam('business', req.query.business)
      const user = phoneParam('user', req.query.user)
      const event: DecisionEvent = { business, user }
      req.decision = event
      const result = await lookup.check(business, user, { fresh: req.query.fresh === true })
      event.body = decisionBody(result, business, user)
      event.upstreamMs = result.upstreamMs
      return event.body
    },
  )
  // After the answer is sent: the decision log line and counter never delay a dialer.
  app.addHook('onResponse', async (req) => {
    if (req.decision) recorder.record(req.decision)
  })
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
