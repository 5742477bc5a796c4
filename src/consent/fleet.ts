import type { Clock } from '../lib/clock.js'
import type { SharedDecision, SharedTier } from '../shared/port.js'
import { outlived } from './decide.js'

export type FleetTier = Pick<
  SharedTier,
  'readDecision' | 'writeFact' | 'acquireFetch' | 'releaseFetch' | 'awaitDecision'
>

/** What the fleet knows of a cold pair: another gate's stored answer, or the right to fetch it ourselves. */
export interface FleetAnswer {
  found?: SharedDecision
  /** This gate holds the fetch lock: release it when done. */
  leader: boolean
}

/**
 * The shared tier's part of a miss: read Redis; else take the fetch lock; else wait for the gate that holds it,
 * and fetch ourselves if it gives up or takes longer than `waitMs`.
 */
export async function askFleet(
  tier: FleetTier,
  key: string,
  waitMs: number,
  clock: Clock,
): Promise<FleetAnswer> {
  // Another gate's clock may run behind: a shared allow at or past its consent's expiry is no answer.
  const usable = (found: SharedDecision | undefined) =>
    found && !outlived(found.decision, clock.now()) ? found : undefined
  const stored = usable(await tier.readDecision(key))
  if (stored) return { found: stored, leader: false }
  if (await tier.acquireFetch(key)) return { leader: true }
  const found = usable(await tier.awaitDecision(key, waitMs))
  return found ? { found, leader: false } : { leader: await tier.acquireFetch(key) }
}
