import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { randomUUID } from 'node:crypto'
import { errorBody, invalidRequest, toGateError } from '../../lib/errors.js'
import { requireUser } from '../../lib/identity.js'
import type { DecisionEvent } from '../../observability/decision-log.js'
import { requirePhone } from '../../lib/phone.js'
import { decisionBody, JSON_CONTENT_TYPE } from '../decision-json.js'
import { MISSED, UNREAD, type CacheHits } from '../cache-hits.js'
import { hitSource, priorityOf, type ConsentLookup, type LookupResult } from '../../consent/lookup.js'
import {
  BatchQuery,
  BatchRequest,
  BatchResponse,
  CanCallQuery,
  DecisionBody,
  type Priority,
} from '../../schemas/can-call.js'
import { InvalidRequestBody, UnauthorizedBody, UnavailableBody } from '../../schemas/errors.js'

/** Checks of one batch request in flight at once, started together: four full micro-batches of 25 users. */
const BATCH_CONCURRENCY = 100

const ERROR_RESPONSES = { 400: InvalidRequestBody, 401: UnauthorizedBody, 503: UnavailableBody }

/**
 * Bodies of these routes are built field by field by decisionBody(), decisionJson() and errorBody(), never from a
 * foreign object, so the schemas document them and the tests check every answer against them, while the routes
 * serialize with V8's JSON.stringify: fast-json-stringify runs an ajv validator (date-time formats included)
 * for each `anyOf` in DecisionBody on every answer (bench/README.md, hit path).
 */
const serializerCompiler = () => (data: unknown) => JSON.stringify(data)

/** Each answer of these routes is a decision: logged and counted (plugins/decisions.ts). */
const CHECK_ROUTE = { decisionLog: true }

/** The one question dialers ask before every call, one pair at a time or a campaign at once. */
export const canCallRoutes: FastifyPluginAsyncTypebox<{
  lookup: ConsentLookup
  /** Why the upstream cannot be asked about a business (Meta: not in the phone number map): a 400 before anything. */
  refuses?: (business: string) => string | undefined
  /** A clean cache hit, answered and recorded from the decision itself (the front door answers most of them first). */
  hits: CacheHits
  /** Whether the front door just found this request's pair uncached (front-door.ts): not read again here. */
  missedAtDoor?: (raw: IncomingMessage) => boolean
}> = async (app, { lookup, refuses, hits, missedAtDoor }) => {
  /**
   * Decides one pair, filling `event` as it goes so the decision log sees whatever was reached. A cache hit is
   * answered synchronously (no promise on the hot path); a miss returns the pending answer. Invalid numbers
   * throw before anything is looked up. `missed`: the hot path has just read the cache for this very pair and found
   * nothing (nothing ran since), so it is not read again here.
   */
  function answer(
    event: DecisionEvent,
    rawBusiness: string,
    rawUser: string,
    fresh: boolean,
    priority: Priority,
    missed = false,
  ): DecisionBody | Promise<DecisionBody> {
    const business = (event.business = requirePhone('business', rawBusiness))
    const refused = refuses?.(business)
    if (refused !== undefined) throw invalidRequest(refused)
    const user = (event.user = requireUser('user', rawUser))
    const hit = fresh || missed ? undefined : lookup.cached(business, user)
    if (hit) return (event.body = decisionBody(hit, hitSource(hit), business, user, randomUUID()))
    return lookup.check(business, user, { fresh, priority }).then((result) => {
      event.upstreamMs = result.upstreamMs
      return (event.body = bodyOf(result, business, user))
    })
  }

  app.get(
    '/can-call',
    {
      schema: {
        tags: ['consent'],
        summary: 'May this business number call this user now?',
        description:
          'Answers from the cache, or asks the upstream (Kaleyra or Meta) on a miss. 200 is a decision (allowed or ' +
          'not, with the reason); 503 means the upstream could not answer and the gate fails closed. `user` may be ' +
          'a BSUID: a BSUID linked to a number by a webhook is checked as that number.',
        querystring: CanCallQuery,
        response: { 200: DecisionBody, ...ERROR_RESPONSES },
      },
      serializerCompiler,
      config: CHECK_ROUTE,
    },
    // Not async: a hit is answered at once, and a promise is awaited only on a miss. The body goes out already
    // written: a string with a JSON content type skips Fastify's serializer.
    (req, reply) => {
      const { query } = req
      const cached =
        query.fresh === true
          ? UNREAD
          : missedAtDoor?.(req.raw)
            ? MISSED
            : hits.answer(query.business, query.user)
      if (typeof cached === 'string') {
        // The type provider types send() by the response schema; the string is that schema's JSON (decision-json.ts).
        void reply.header('content-type', JSON_CONTENT_TYPE).send(cached as unknown as DecisionBody)
        // Written: the log line and counters cannot delay the answer.
        hits.record()
        return
      }
      const event: DecisionEvent = {}
      req.decisions = [event]
      const priority = priorityOf(query.priority, 1)
      const fresh = query.fresh === true
      const body = answer(event, query.business, query.user, fresh, priority, cached === MISSED)
      if (body instanceof Promise) return body.then((b) => sendBody(reply, b))
      sendBody(reply, body)
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
          'same cache and micro-batcher, so it warms the cache for the per-call checks. A batch of more than 4 pairs ' +
          '(or priority=bulk) is bulk work: its Kaleyra requests wait behind live checks.',
        querystring: BatchQuery,
        body: BatchRequest,
        response: { 200: BatchResponse, ...ERROR_RESPONSES },
      },
      serializerCompiler,
      config: CHECK_ROUTE,
    },
    async (req) => {
      const events = req.body.checks.map((): DecisionEvent => ({}))
      req.decisions = events
      const priority = priorityOf(req.query.priority, req.body.checks.length)
      // A bounded number at a time: a campaign pre-check must not fill the upstream queue that live checks need.
      const results = await inWaves(req.body.checks, BATCH_CONCURRENCY, async (check, i) => {
        try {
          return await answer(events[i] ?? {}, check.business, check.user, false, priority)
        } catch (err) {
          const body = errorBody(toGateError(err))
          if (events[i]) events[i].body = body
          return body
        }
      })
      return { results }
    },
  )
}

const bodyOf = ({ decision, source }: LookupResult, business: string, user: string): DecisionBody =>
  decisionBody(decision, source, business, user, randomUUID())

function sendBody(reply: FastifyReply, body: DecisionBody): void {
  void reply.header('content-type', JSON_CONTENT_TYPE).send(JSON.stringify(body))
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
