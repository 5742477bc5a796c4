import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ConsentEvents } from '../../consent/events/events.js'
import { requirePhone } from '../../lib/phone.js'
import { requireUser } from '../../lib/identity.js'
import type { UnansweredStreaks } from '../../consent/streaks.js'
import { pairKey } from '../../consent/cache.js'
import type { GateMetrics } from '../../observability/metrics.js'
import { InvalidRequestBody, UnauthorizedBody } from '../../schemas/errors.js'
import { OutcomeAnswer, OutcomeBody, type OutcomeItem } from '../../schemas/webhooks.js'

/** Dialers report how each call ended, so the gate can stop a pair before Meta revokes its permission. */
export const callOutcomeRoutes: FastifyPluginAsyncTypebox<{
  events: ConsentEvents
  streaks: UnansweredStreaks
  metrics: GateMetrics
}> = async (app, { events, streaks, metrics }) => {
  app.post(
    '/call-outcomes',
    {
      bodyLimit: 256 * 1024,
      schema: {
        tags: ['events'],
        summary: 'Report call outcomes (one object, or an array of up to 1000)',
        description:
          'unanswered and rejected add one to the pair streak, answered resets it; at UNANSWERED_STREAK_LIMIT ' +
          'checks answer unanswered_streak. error_code 138006 evicts the pair; 138012 stores action_not_permitted.',
        body: OutcomeBody,
        response: { 200: OutcomeAnswer, 400: InvalidRequestBody, 401: UnauthorizedBody },
      },
    },
    async (req) => {
      const items: OutcomeItem[] = Array.isArray(req.body) ? req.body : [req.body]
      // Every item is read before any is applied: a bad number rejects the whole report and changes nothing.
      const at = (i: number, field: string) => (Array.isArray(req.body) ? `[${i}].${field}` : field)
      const parsed = items.map((item, i) => ({
        ...item,
        business: requirePhone(at(i, 'business'), item.business),
        user: requireUser(at(i, 'user'), item.user),
      }))
      const results = []
      // In order: two outcomes of one pair in a report count one after the other.
      for (const o of parsed) {
        // A call placed by BSUID counts for the number it is linked to: checks by either see one streak.
        const user = await events.identityOf(o.user)
        const outcome = { ...o, user, errorCode: o.error_code, decisionId: o.decision_id }
        const streak = await events.applyOutcome(outcome)
        metrics.events.inc({ kind: 'call_outcome', result: 'applied' })
        const blocked = streaks.blocked(pairKey(o.business, user))
        results.push({ business: o.business, user: o.user, unanswered_streak: streak, blocked })
      }
      return { results }
    },
  )
}
