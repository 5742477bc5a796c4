import { BUSINESSES } from '../lib/fixtures.js'
import { startChild } from '../lib/rpc.js'
import type { ProcessStats, Sim } from '../lib/servers.js'

const CHILD = new URL('./meta-sim-child.ts', import.meta.url)

/** The simulator of meta-sim-child.ts: a `Sim` for startServer(), which also answers as Meta's Graph API. */
export interface DoorSim extends Sim {
  /** The gate's environment for UPSTREAM=meta against this simulator (as test/helpers/gate.ts metaEnv). */
  metaEnv: Record<string, string>
  /** Answers since the last call, by HTTP status: Meta's 613 is a 429. */
  takeStatuses(): Promise<Record<number, number>>
}

export async function startDoorSim(opts: { metaMaxRps: number }): Promise<DoorSim> {
  const child = startChild(CHILD)
  const info = await child.call<{
    url: string
    sid: string
    apiKey: string
    metaAccessToken: string
    phoneNumberIds: Record<string, string>
  }>('start', { metaMaxRps: opts.metaMaxRps, businesses: BUSINESSES })
  const takeStatuses = () => child.call<Record<number, number>>('takeStatuses')
  return {
    url: info.url,
    sid: info.sid,
    apiKey: info.apiKey,
    metaEnv: {
      UPSTREAM: 'meta',
      META_ACCESS_TOKEN: info.metaAccessToken,
      META_GRAPH_BASE_URL: info.url,
      META_PHONE_NUMBERS: Object.entries(info.phoneNumberIds)
        .map(([business, id]) => `${business}=${id}`)
        .join(','),
    },
    async seed(consents) {
      for (let i = 0; i < consents.length; i += 5000) await child.call('seed', consents.slice(i, i + 5000))
    },
    clear: () => child.call('clear'),
    setLatency: (ms) => child.call('setLatency', ms),
    takeStatuses,
    takeRequestCount: async () => total(await takeStatuses()),
    takeLatency: () => child.call('takeLatency'),
    stats: () => child.call<ProcessStats>('stats'),
    stop: () => child.stop(),
  }
}

/** Answers of all statuses in a takeStatuses() reading. */
export const total = (statuses: Record<number, number>): number =>
  Object.values(statuses).reduce((a, b) => a + b, 0)
