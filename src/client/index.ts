// consent-gate/client: what a dialer imports to ask the gate. It ships to dialers, so it imports nothing but
// itself and Node's built-ins (.dependency-cruiser.cjs). Usage, the result type and failure handling:
// docs/client.md.
import { toBatchResult, toCanCallResult, toOutcomesResult, unreachable } from './answers.js'
import { ConsentGateError } from './errors.js'
import { createTransport, NoAnswer, type RawAnswer, type SendOptions } from './transport.js'
import type { ClientOptions, ConsentGateClient } from './types.js'

export { ConsentGateError, type ConsentGateErrorInit } from './errors.js'
export { DECISION_REASONS } from './answers.js'
export type * from './types.js'
export type { paths } from './openapi-types.js'

const DEFAULT_TIMEOUT_MS = 5000
const DEFAULT_MAX_CONNECTIONS = 64
const NOT_STRINGS = 'business and user must be strings, E.164 numbers such as +919876543210'

/** A client of one gate. Throws at once on bad options (a configuration error, not a gate problem). */
export function createClient(options: ClientOptions): ConsentGateClient {
  const baseUrl = new URL(options.baseUrl)
  if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
    throw new TypeError(`baseUrl must be http: or https:, not ${baseUrl.protocol}`)
  }
  const timeoutMs = bounded('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 600_000)
  const maxConnections = bounded('maxConnections', options.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 1024)
  const transport = createTransport({
    baseUrl,
    authorization: options.token === undefined ? undefined : `Bearer ${checkToken(options.token)}`,
    timeoutMs,
    maxConnections,
  })

  /** The answer, or a ConsentGateError when there was none: the batch and outcome routes throw. */
  async function sendOrThrow(send: SendOptions): Promise<RawAnswer> {
    try {
      return await transport.send(send)
    } catch (err) {
      const message = err instanceof NoAnswer ? err.message : 'the request to the gate failed'
      throw new ConsentGateError({ code: 'gate_unreachable', message })
    }
  }

  return {
    async canCall(query) {
      if (typeof query?.business !== 'string' || typeof query.user !== 'string') {
        return { verdict: 'undetermined', allowed: false, reason: 'invalid_request', message: NOT_STRINGS }
      }
      try {
        const params = new URLSearchParams({ business: query.business, user: query.user })
        if (query.fresh) params.set('fresh', 'true')
        if (query.priority) params.set('priority', query.priority)
        const answer = await transport.send({
          method: 'GET',
          path: `/can-call?${params.toString()}`,
          idempotent: true,
        })
        return toCanCallResult(answer, query)
      } catch (err) {
        // Whatever went wrong, a dialer that forgot its try/catch still gets a no.
        return unreachable(err instanceof NoAnswer ? err.message : 'the check could not be sent to the gate')
      }
    },

    async canCallBatch(checks, opts = {}) {
      const query = opts.priority ? `?priority=${encodeURIComponent(opts.priority)}` : ''
      const body = JSON.stringify({ checks })
      const answer = await sendOrThrow({
        method: 'POST',
        path: `/can-call/batch${query}`,
        body,
        idempotent: true,
      })
      return toBatchResult(answer, checks)
    },

    async reportOutcomes(outcomes) {
      const body = JSON.stringify(outcomes)
      // Not idempotent: a resent outcome would count twice in the pair's unanswered streak.
      const answer = await sendOrThrow({ method: 'POST', path: '/call-outcomes', body, idempotent: false })
      return toOutcomesResult(answer, Array.isArray(outcomes) ? outcomes.length : 1)
    },

    async close() {
      transport.close()
    },
  }
}

function bounded(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer from 1 to ${max}`)
  }
  return value
}

/** A token that could not be a header value fails here, with a message that does not repeat it. */
function checkToken(token: string): string {
  if (typeof token !== 'string' || !/^[\x21-\x7e]{1,4096}$/.test(token)) {
    throw new TypeError('token must be 1 to 4096 visible ASCII characters')
  }
  return token
}
