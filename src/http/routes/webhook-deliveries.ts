import type { ConsentEvents, PermissionReply, ReplyResult } from '../../consent/events/events.js'
import { GateError } from '../../lib/errors.js'
import type { GateMetrics } from '../../observability/metrics.js'
import { InvalidRequestBody, UnauthorizedBody } from '../../schemas/errors.js'
import { WebhookAnswer } from '../../schemas/webhooks.js'
import type { IdentityChange } from './permission-replies.js'

export type WebhookKind = 'kaleyra_webhook' | 'meta_webhook'
/** The replies of one delivery, and how many of its messages were not permission replies. */
export type FoundReplies = { replies: PermissionReply[]; changes?: IdentityChange[]; ignored: number }

export const WEBHOOK_RESPONSES = { 200: WebhookAnswer, 400: InvalidRequestBody, 401: UnauthorizedBody }

/** What both webhook surfaces do with a delivery once it is read, and with one that is refused. */
export interface Deliveries {
  apply(kind: WebhookKind, found: FoundReplies): Promise<WebhookAnswer>
  refuse(kind: WebhookKind, message: string): GateError
}

const FIELD: Record<ReplyResult, 'applied' | 'duplicates' | 'outdated'> = {
  applied: 'applied',
  duplicate: 'duplicates',
  outdated: 'outdated',
  // Granted nothing: the answer counts it with the outdated ones; the metric says untrusted.
  untrusted: 'outdated',
}

export function createDeliveries(events: ConsentEvents, metrics: GateMetrics): Deliveries {
  return {
    /** Applies a whole delivery: every reply was read before the first is applied, so a bad one changes nothing. */
    async apply(kind, found) {
      const answer = {
        received: found.replies.length,
        applied: 0,
        duplicates: 0,
        outdated: 0,
        ignored: found.ignored,
      }
      for (const reply of found.replies) {
        const result = await events.applyReply(reply)
        answer[FIELD[result]]++
        metrics.events.inc({ kind, result })
      }
      if (found.ignored > 0) metrics.events.inc({ kind, result: 'ignored' }, found.ignored)
      const changes = found.changes ?? []
      if (changes.length === 0) return answer
      let changed = 0
      for (const change of changes) {
        const first = await events.forgetIdentities(change)
        metrics.events.inc({ kind, result: first ? 'identity_changed' : 'duplicate' })
        if (first) changed++
      }
      return { ...answer, identity_changes: changed }
    },
    refuse(kind, message) {
      metrics.events.inc({ kind, result: 'unauthorized' })
      return new GateError('unauthorized', message)
    },
  }
}
