import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import { errorBody, toGateError } from '../errors.js'
import type { DecisionEvent, DecisionRecorder } from '../decision-log.js'
import { requirePhone } from '../consent/phone.js'
import type { ConsentLookup, LookupResult } from '../consent/lookup.js'
import { BatchRequest, BatchResponse, CanCallQuery, DecisionBody } from '../schemas/can-call.js'
import { InvalidRequestBody, UnauthorizedBody, UnavailableBody } from '../schemas/errors.js'

/** Checks of one batch request in flight at once, started together: 4 full micro-batches of one business. */
const BATCH_CONCURRENCY = 100

const ERROR_RESPONSES = { 400: InvalidRequestBody, 401: UnauthorizedBody, 503: UnavailableBody }

/** The one question dialers ask before every call, one pair at a time or a campaign at once. */
export const canCallRoutes: FastifyPluginAsyncTypebox<{
  lookup: ConsentLookup
  recorder: DecisionRecorder
}> = async (app, { lookup, recorder }) => {
  /** Decides one pair, filling `event` as it goes so the decision log sees whatever was reached. */
  async function answer(event: DecisionEvent, rawBusiness: string, rawUser: string, fresh: boolean) {
    const business = (event.business = requirePhone('business', rawBusiness))
    const user = (event.user = requirePhone('user', rawUser))
    const result = await lookup.check(business, user, { fresh })
    event.upstreamMs = result.upstreamMs
    return (event.body = decisionBody(result, business, user))
  }

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
        response: { 200: DecisionBody, ...ERROR_RESPONSES },
      },
    },
    async (req) => {
      const event: DecisionEvent = {}
      req.decisions = [event]
      return answer(event, req.query.business, req.query.user, req.query.fresh === true)
    },
  )

  app.post(
    '/can-call/batch',
    {
      bodyLimit: 256 * 1024,
      schema: {
        tags: ['consent'],
        summary: 'Check up to 1000 pairs at once (a campaign pre-check)',
        description:
          'Each result is exactly the body GET /can-call would give for that pair, in request order: an invalid ' +
          'pair or one Kaleyra could not answer gets its own error body while the others are decided. Uses the ' +
          'same cache and micro-batcher, so it warms the cache for the per-call checks.',
        body: BatchRequest,
        response: { 200: BatchResponse, ...ERROR_RESPONSES },
      },
    },
    async (req) => {
      const events = req.body.checks.map((): DecisionEvent => ({}))
      req.decisions = events
      // A bounded number at a time: a campaign pre-check must not fill the upstream queue that live checks need.
      const results = await inWaves(req.body.checks, BATCH_CONCURRENCY, (check, i) =>
        answer(events[i] ?? {}, check.business, check.user, false).catch((err: unknown) => {
          const body = errorBody(toGateError(err))
          if (events[i]) events[i].body = body
          return body
        }),
      )
      return { results }
    },
  )

  // After the answer is sent: decision log lines and counters never delay a dialer.
  app.addHook('onResponse', (req, _reply, done) => {
    for (const event of req.decisions ?? []) recorder.record(event)
    done()
  })
}

function decisionBody({ decision, source }: LookupResult, business: string, user: string): DecisionBody {
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

/**
 * Maps in waves of `size`: each wave starts together, so the micro-batcher sees it as one burst (a sliding window
 * would feed it one check at a time and split every batch), and no more than `size` checks are ever in flight.
 */
async function inWaves<T, R>(
  items: readonly T[],
  size: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = []
  for (let start = 0; start < items.length; start += size) {
    out.push(...(await Promise.all(items.slice(start, start + size).map((item, k) => fn(item, start + k)))))
  }
  return out
}
