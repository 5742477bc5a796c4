import type { App } from '../../src/http/app.js'

/* What every variant of the model test runs with, and what a run counts. */

export const BEARER = 'model-kaleyra-callback-token'
export const META_SECRET = 'model-meta-app-secret-0123'
export const ADMIN = 'model-admin-token-0123456789'

/** What every variant runs with: both webhook surfaces and DELETE /cache on; no batching (one pair a request). */
export const BASE_ENV: Record<string, string> = {
  WEBHOOK_BEARER_TOKEN: BEARER,
  META_APP_SECRET: META_SECRET,
  META_VERIFY_TOKEN: 'model-verify-token',
  ADMIN_API_TOKEN: ADMIN,
  // One Kaleyra request per miss, so the simulator's log says which pair each answer is about.
  BATCH_WINDOW_MS: '0',
  // A held answer must outlive the slowest interleaving on a busy machine.
  UPSTREAM_TIMEOUT_MS: '10000',
  UPSTREAM_MAX_RPS: '0',
  SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
  EVENT_TRUST_WINDOW_SECONDS: '300',
}

export interface Variant {
  name: string
  env: Record<string, string>
  restarts: boolean
  /** Share of the runs. */
  share: number
}

export interface Stats {
  runs: number
  commands: number
  checks: number
  allows: number
  /** Allows resting on a reply (source event). */
  eventAllows: number
  /** Allows the front door sent (src/http/front-door.ts); the rest went through Fastify's route. */
  doorAllows: number
  unavailable: number
  kaleyraAnswers: number
  /** Kaleyra answers a hold kept back while other requests went in. */
  heldAnswers: number
  batches: number
  restarts: number
  settleTimeouts: number
}

export const emptyStats = (): Stats => ({
  runs: 0,
  commands: 0,
  checks: 0,
  allows: 0,
  eventAllows: 0,
  doorAllows: 0,
  unavailable: 0,
  kaleyraAnswers: 0,
  heldAnswers: 0,
  batches: 0,
  restarts: 0,
  settleTimeouts: 0,
})

/**
 * Counts the allows Fastify's `/can-call` route sends (`counter.n`): every other allow a driver judged came from the
 * front door (src/http/front-door.ts), which answers most cached yes-es in production.
 */
export function countRouteAllows(gate: App, counter: { n: number }): void {
  gate.addHook('onSend', (req, _reply, payload, done) => {
    if (
      req.routeOptions.url === '/can-call' &&
      typeof payload === 'string' &&
      payload.includes('"allowed":true')
    )
      counter.n++
    done(null, payload)
  })
}
