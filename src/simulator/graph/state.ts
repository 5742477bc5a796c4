import { systemClock } from '../../lib/clock.js'
import type { KaleyraSimulatorOptions, MetaState } from '../types.js'
import { createRateWindow } from './rate.js'

/** Meta's side of a simulator from its options, with their defaults. */
export function createMetaState(opts: KaleyraSimulatorOptions): MetaState {
  const ids = new Map(Object.entries(opts.phoneNumberIds ?? {}))
  return {
    accessToken: opts.metaAccessToken ?? 'sim-meta-token-0123456789',
    wabaId: opts.wabaId ?? '100000000000001',
    ids,
    numbers: new Map([...ids].map(([e164, id]) => [id, e164])),
    admit: createRateWindow(opts.metaMaxRps ?? 100, opts.clock ?? systemClock),
  }
}
