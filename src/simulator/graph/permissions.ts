import type { SimConsent } from '../types.js'

/** Meta's connected-call cap per pair and 24 h, and its permission-request caps (whatsapp-calling.md 2.2). */
const START_CALL_MAX = 100
const REQUESTS_PER_DAY = 1
const REQUESTS_PER_WEEK = 2

// An expiry rounds down and a reset rounds up, so neither whole second promises more than the record does.
const floorSeconds = (ms: number) => Math.floor(ms / 1000)
const ceilSeconds = (ms: number) => Math.ceil(ms / 1000)

/** accept -> permanent or temporary, reject or no record -> no_permission, anything else shown as it is. */
function permission(c: SimConsent | undefined): Record<string, unknown> {
  if (!c || c.response === 'reject') return { status: 'no_permission' }
  if (c.response !== 'accept') return { status: c.response }
  if (c.is_permanent) return { status: 'permanent' }
  // Emitted even when past, as the gate must judge an expired temporary permission itself.
  return c.expiresAt == null
    ? { status: 'temporary' }
    : { status: 'temporary', expiration_time: floorSeconds(c.expiresAt) }
}

function requestAction(c: SimConsent | undefined) {
  return {
    action_name: 'send_call_permission_request',
    can_perform_action: c?.canRequestPermission ?? c?.response !== 'accept',
    limits: [
      { time_period: 'PT24H', max_allowed: REQUESTS_PER_DAY, current_usage: 0 },
      { time_period: 'P7D', max_allowed: REQUESTS_PER_WEEK, current_usage: 0 },
    ],
  }
}

function startCallAction(c: SimConsent | undefined) {
  const can = c?.can_perform_action ?? false
  const resetsAt = can ? undefined : c?.startCallLimitResetsAt
  // Meta gives limit_expiration_time only once the limit is used up.
  const limit =
    resetsAt === undefined
      ? { time_period: 'PT24H', max_allowed: START_CALL_MAX, current_usage: 0 }
      : {
          time_period: 'PT24H',
          max_allowed: START_CALL_MAX,
          current_usage: START_CALL_MAX,
          limit_expiration_time: ceilSeconds(resetsAt),
        }
  return { action_name: 'start_call', can_perform_action: can, limits: [limit] }
}

/** Meta's answer to `GET /<PNID>/call_permissions` for one stored permission, or none. */
export function permissionsBody(c: SimConsent | undefined) {
  return {
    messaging_product: 'whatsapp',
    permission: permission(c),
    actions: [requestAction(c), startCallAction(c), ...(c?.extraActions ?? [])],
  }
}
