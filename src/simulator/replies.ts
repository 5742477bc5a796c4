import type { ServerResponse } from 'node:http'
import { AUTH_FAILED_CODE, SUCCESS_CODE } from '../upstream/kaleyra/wire.js'

export type Reply = { status: number; body: string; headers?: Record<string, string> }

export const envelope = (code: string, message: string, error: object = {}) =>
  JSON.stringify({ code, message, data: [], error })

export const AUTH_FAILED: Reply = {
  status: 401,
  body: envelope(AUTH_FAILED_CODE, 'Incorrect SID or API key.', { error: 'Incorrect SID or API key.' }),
}
export const NOT_FOUND: Reply = { status: 404, body: envelope('WA404', 'Not found') }
export const NOT_ALLOWED: Reply = {
  status: 405,
  body: envelope('WA405', 'Method not allowed'),
  headers: { allow: 'GET' },
}
export const badRequest = (why: string): Reply => ({
  status: 400,
  body: envelope('WA400', 'Incorrect payload', { error: why }),
})

/** A 200 page; `data` is unknown[] so a fault can answer records of the wrong types. */
export function successReply(data: unknown[], page: { limit: number; offset: number; total: number }): Reply {
  const body = { code: SUCCESS_CODE, message: 'Request Processed Successfully', data, error: {} }
  return { status: 200, body: JSON.stringify({ ...body, ...page }) }
}

export function send(res: ServerResponse, reply: Reply, contentType = 'application/json'): void {
  // The client may have gone away while a latency fault was pending.
  if (res.destroyed) return
  res.writeHead(reply.status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(reply.body),
    ...reply.headers,
  })
  res.end(reply.body)
}
