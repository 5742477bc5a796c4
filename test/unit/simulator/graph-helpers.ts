import { afterEach } from 'vitest'
import { request } from 'undici'
import {
  createKaleyraSimulator,
  type KaleyraSimulator,
  type KaleyraSimulatorOptions,
  type SimConsent,
} from '../../../src/simulator/simulator.js'

export const B = '+918000000001'
/** The id the simulator derives for B: '1' and the digits. */
export const PNID = '1918000000001'
export const NOW = Date.UTC(2026, 10, 25, 12, 0, 0, 400)
export const HOUR_MS = 3_600_000

export interface GraphError {
  error: { message: string; type: string; code: number; error_subcode?: number; fbtrace_id: string }
}

/** Simulators started by a test, closed after it. */
export function useSimulators() {
  const started: KaleyraSimulator[] = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((sim) => sim.close()))
  })
  return async (opts: KaleyraSimulatorOptions = {}): Promise<KaleyraSimulator> => {
    const sim = createKaleyraSimulator(opts)
    started.push(sim)
    await sim.listen()
    return sim
  }
}

/** A GET of Meta's API with the simulator's token, unless `token` says otherwise (null: no header). */
export async function graphGet(
  sim: KaleyraSimulator,
  path: string,
  opts: { token?: string | null; method?: 'GET' | 'POST' } = {},
) {
  const token = opts.token === undefined ? sim.metaAccessToken : opts.token
  const res = await request(`${sim.url}${path}`, {
    method: opts.method ?? 'GET',
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) }
}

export const permissionsOf = (query: string, pnid = PNID) => `/v23.0/${pnid}/call_permissions?${query}`

export const consent = (user: string, extra: Partial<SimConsent> = {}): SimConsent => ({
  business: B,
  user,
  response: 'accept',
  can_perform_action: true,
  is_permanent: false,
  expiresAt: NOW + 7 * 24 * HOUR_MS,
  ...extra,
})

/** The two actions Meta always answers, as the simulator fills them when nothing overrides them. */
export function actions(canRequest: boolean, canCall: boolean, startCallLimit: object = {}) {
  return [
    {
      action_name: 'send_call_permission_request',
      can_perform_action: canRequest,
      limits: [
        { time_period: 'PT24H', max_allowed: 1, current_usage: 0 },
        { time_period: 'P7D', max_allowed: 2, current_usage: 0 },
      ],
    },
    {
      action_name: 'start_call',
      can_perform_action: canCall,
      limits: [{ time_period: 'PT24H', max_allowed: 100, current_usage: 0, ...startCallLimit }],
    },
  ]
}
