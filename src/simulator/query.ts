import type { IncomingMessage } from 'node:http'
import type { SimRequest } from './types.js'
import { DEFAULT_PAGE_SIZE } from '../upstream/kaleyra/wire.js'

/** The one route the simulator serves; the capture is the SID, checked against the simulator's own. */
export const PERMISSIONS_PATH = /^\/v2\/([^/]+)\/whatsapp\/call_permissions$/

// Items are trimmed because the API page's own sample separates them with ', '.
const parseList = (raw: string | null): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')

export function parseCount(raw: string | null, fallback: number): number {
  if (raw === null) return fallback
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN
  return Number.isSafeInteger(value) ? value : NaN
}

export function firstValues(params: URLSearchParams): Record<string, string> {
  const query: Record<string, string> = {}
  for (const [key, value] of params) if (!(key in query)) query[key] = value
  return query
}

export function readRequest(req: IncomingMessage, path: string, search: string, apiKey: string): SimRequest {
  // URLSearchParams decodes a bare '+' to a space, exactly like the real server.
  const params = new URLSearchParams(search)
  return {
    api: 'kaleyra',
    path,
    query: firstValues(params),
    apiKeyOk: req.headers['api-key'] === apiKey,
    business: parseList(params.get('business_phone_number')),
    user: parseList(params.get('user_phone_number')),
    limit: parseCount(params.get('limit'), DEFAULT_PAGE_SIZE),
    offset: parseCount(params.get('offset'), 0),
    receivedAtMs: performance.now(),
  }
}
