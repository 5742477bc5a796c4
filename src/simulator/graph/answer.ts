import { isBsuid } from '../../lib/identity.js'
import { parsePhone } from '../../lib/phone.js'
import type { Reply } from '../replies.js'
import { pairKey } from '../store.js'
import type { SimRequest, SimState } from '../types.js'
import { spaced } from '../format.js'
import { listedNumbers, phoneNumberIdOf } from './numbers.js'
import { permissionsBody } from './permissions.js'
import { graphOk, invalidParam, invalidToken, rateLimited, unsupported } from './replies.js'
import type { GraphTarget } from './request.js'

const MAX_PAGE_SIZE = 100
const VERIFIED_NAME = 'Consent Gate Simulator'

/** Why the user parameters are not one well-formed identity, or undefined when they are. */
function userProblem(query: Record<string, string>): string | undefined {
  const { user_wa_id: waId, recipient } = query
  if ((waId === undefined) === (recipient === undefined))
    return 'Exactly one of the parameters user_wa_id and recipient is required'
  if (waId !== undefined && !(/^\d+$/.test(waId) && parsePhone(`+${waId}`).ok))
    return 'Param user_wa_id must be a phone number: the country code and number, digits only'
  if (recipient !== undefined && !isBsuid(recipient))
    return 'Param recipient must be a business-scoped user ID'
  return undefined
}

function callPermissions(q: SimRequest, sim: SimState): Reply {
  const business = q.business[0]
  if (business === undefined) return unsupported('GET')
  if (!sim.meta.admit()) return rateLimited()
  const why = userProblem(q.query)
  if (why !== undefined) return invalidParam(why)
  const user = q.user[0] ?? ''
  return graphOk(permissionsBody(sim.store.get(pairKey(business, user))))
}

// Graph's cursors are opaque: these carry the phone number id of the row they point at.
const toCursor = (id: string) => Buffer.from(id).toString('base64url')
const fromCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString()

function numberRow(e164: string, id: string, fields: string[] | undefined) {
  const wants = (field: string) => !fields || fields.includes(field)
  return {
    id,
    ...(wants('display_phone_number') ? { display_phone_number: spaced(e164) } : {}),
    ...(wants('verified_name') ? { verified_name: VERIFIED_NAME } : {}),
  }
}

/** `GET /<WABA_ID>/phone_numbers`: every number with its id, paged by `limit` and the `after` cursor. */
function phoneNumbers(target: GraphTarget, q: SimRequest, sim: SimState, base: string): Reply {
  if (target.objectId !== sim.meta.wabaId) return unsupported('GET')
  if (Number.isNaN(q.limit) || q.limit === 0) return invalidParam('Param limit must be a positive integer')
  const numbers = listedNumbers(sim)
  const ids = numbers.map((n) => phoneNumberIdOf(sim.meta, n))
  const after = q.query.after
  const start = after === undefined ? 0 : ids.indexOf(fromCursor(after)) + 1
  if (start === 0 && after !== undefined) return invalidParam('Param after is not a valid cursor')
  const end = Math.min(start + Math.min(q.limit, MAX_PAGE_SIZE), numbers.length)
  if (start >= end) return graphOk({ data: [] })
  const fields = q.query.fields?.split(',').map((f) => f.trim())
  const data = numbers.slice(start, end).map((n, i) => numberRow(n, ids[start + i] ?? '', fields))
  const cursors = { before: toCursor(ids[start] ?? ''), after: toCursor(ids[end - 1] ?? '') }
  if (end === numbers.length) return graphOk({ data, paging: { cursors } })
  const next = `${base}${q.path}?${new URLSearchParams({ ...q.query, after: cursors.after }).toString()}`
  return graphOk({ data, paging: { cursors, next } })
}

/**
 * What a healthy Graph API answers, when no fault is set: the token first (any edge), then the object, then,
 * for call_permissions, the rate window and the user parameters. `base` makes `paging.next` absolute, as Meta's is.
 */
export function answerGraph(
  method: string | undefined,
  target: GraphTarget,
  q: SimRequest,
  sim: SimState,
  base: string,
): Reply {
  if (method !== 'GET') return unsupported(method)
  if (!q.apiKeyOk) return invalidToken()
  return target.edge === 'phone_numbers' ? phoneNumbers(target, q, sim, base) : callPermissions(q, sim)
}
