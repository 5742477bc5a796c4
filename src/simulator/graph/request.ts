import type { IncomingMessage } from 'node:http'
import { firstValues, parseCount } from '../query.js'
import type { MetaState, SimRequest } from '../types.js'
import { numberOfId } from './numbers.js'

/** Graph's two edges the simulator serves, under any version (`v23.0`); the capture is the object id. */
export const GRAPH_PATH = /^\/v\d+\.\d+\/([^/]+)\/(call_permissions|phone_numbers)$/

export interface GraphTarget {
  /** A phone number id for call_permissions, the WABA id for phone_numbers. */
  objectId: string
  edge: 'call_permissions' | 'phone_numbers'
}

export function graphTarget(path: string): GraphTarget | undefined {
  const match = GRAPH_PATH.exec(path)
  if (!match?.[1] || !match[2]) return undefined
  return { objectId: match[1], edge: match[2] as GraphTarget['edge'] }
}

const GRAPH_PAGE_SIZE = 25

/** The identities asked, as the store keys them: '+' and the digits of user_wa_id, the recipient as written. */
function askedUsers(params: URLSearchParams): string[] {
  const users: string[] = []
  const waId = params.get('user_wa_id')
  if (waId !== null) users.push(/^\d+$/.test(waId) ? `+${waId}` : waId)
  const recipient = params.get('recipient')
  if (recipient !== null) users.push(recipient)
  return users
}

export function readGraphRequest(
  req: IncomingMessage,
  path: string,
  search: string,
  target: GraphTarget,
  meta: MetaState,
): SimRequest {
  const params = new URLSearchParams(search)
  const token = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
  const business = target.edge === 'call_permissions' ? numberOfId(meta, target.objectId) : undefined
  return {
    api: 'meta',
    path,
    query: firstValues(params),
    apiKeyOk: token === meta.accessToken,
    business: business === undefined ? [] : [business],
    user: target.edge === 'call_permissions' ? askedUsers(params) : [],
    limit: parseCount(params.get('limit'), GRAPH_PAGE_SIZE),
    offset: 0,
    receivedAtMs: performance.now(),
  }
}
