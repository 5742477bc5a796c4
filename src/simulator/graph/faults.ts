import type { Reply } from '../replies.js'
import type { SimFault, SimRequest } from '../types.js'
import { GRAPH_CONTENT_TYPE, graphError, graphMessage } from './replies.js'

/** The faults that replace Meta's answer with a body of their own ('code' is Kaleyra's alone). */
export type GraphBodyFault = Extract<
  SimFault,
  { kind: 'malformed' | 'wrong_types' | 'status' | 'graph_error' }
>

/** The Graph code an HTTP status usually carries, so a status fault reads the same to either adapter. */
function codeOfStatus(status: number): number {
  if (status === 400) return 100
  if (status === 401) return 190
  if (status === 429) return 613
  return status >= 500 ? 2 : 1
}

const isListing = (q: SimRequest) => q.path.endsWith('/phone_numbers')

function wrongTypes(q: SimRequest): Reply {
  // String booleans and numbers are the dangerous case: a truthiness check would allow the call.
  const body = isListing(q)
    ? { data: [{ id: 1918000000001, display_phone_number: 918000000001 }] }
    : {
        messaging_product: 'whatsapp',
        permission: { status: 'permanent', expiration_time: '1765875401' },
        actions: [
          { action_name: 'send_call_permission_request', can_perform_action: 'false', limits: [] },
          {
            action_name: 'start_call',
            can_perform_action: 'true',
            limits: [{ time_period: 'PT24H', max_allowed: '100', current_usage: '0' }],
          },
        ],
      }
  return { status: 200, body: JSON.stringify(body), headers: { 'content-type': GRAPH_CONTENT_TYPE } }
}

function statusFault(fault: Extract<SimFault, { kind: 'status' }>): Reply {
  const code = codeOfStatus(fault.status)
  if (fault.body === undefined)
    return graphError(fault.status, code, graphMessage(code), { retryAfter: fault.retryAfter })
  let contentType = GRAPH_CONTENT_TYPE
  try {
    JSON.parse(fault.body)
  } catch {
    contentType = 'text/plain'
  }
  const retry: Record<string, string> = fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}
  return { status: fault.status, body: fault.body, headers: { 'content-type': contentType, ...retry } }
}

/** What a Graph request gets instead of Meta's answer. */
export function graphFaultReply(fault: GraphBodyFault, q: SimRequest): Reply {
  switch (fault.kind) {
    case 'malformed': {
      const body = isListing(q)
        ? '{"data":[{"id":'
        : '{"messaging_product":"whatsapp","permission":{"status":'
      return { status: 200, body, headers: { 'content-type': GRAPH_CONTENT_TYPE } }
    }
    case 'wrong_types':
      return wrongTypes(q)
    case 'status':
      return statusFault(fault)
    case 'graph_error':
      return graphError(fault.status, fault.code, graphMessage(fault.code), {
        subcode: fault.subcode,
        retryAfter: fault.retryAfter,
      })
  }
}
