import { EVENT_MEMORY_MS, type Shared } from './memory.js'
import type { UnansweredStreaks } from '../streaks.js'

/** The unanswered streak of a pair as events move it, kept in step with the fleet in shared mode. */
export interface StreakEvents {
  /** Sets the pair's streak here and tells the other gates. */
  announceStreak: (key: string, count: number) => void
  /** The pair's streak after one more unanswered or rejected call (not yet announced). */
  addToStreak: (key: string) => Promise<number>
  /** An answered call or an accept ends the streak, here, in Redis and on every gate. */
  endStreak: (key: string) => void
  /** Takes the fleet's streak for the pair (shared mode), so a gate that started late knows it too. */
  syncStreak: (key: string) => Promise<void>
}

export function createStreakEvents(opts: {
  streaks: UnansweredStreaks
  shared?: Pick<Shared, 'incrStreak' | 'setStreak' | 'readStreak' | 'publish'>
}): StreakEvents {
  const { streaks, shared } = opts

  function announceStreak(key: string, count: number): void {
    streaks.set(key, count)
    shared?.publish({ type: 'streak', key, count })
  }

  /** The streak only grows, unless an answered call or an accept ends it (a Redis restart must not end it). */
  async function addToStreak(key: string): Promise<number> {
    const local = streaks.count(key) + 1
    const fleet = await shared?.incrStreak(key, EVENT_MEMORY_MS)
    const count = Math.max(local, fleet ?? 0)
    if (fleet !== undefined && fleet < count) shared?.setStreak(key, count, EVENT_MEMORY_MS)
    return count
  }

  function endStreak(key: string): void {
    // Reset in Redis before the announcement: one connection keeps the order, so peers reading back see 0.
    shared?.setStreak(key, 0, EVENT_MEMORY_MS)
    announceStreak(key, 0)
  }

  async function syncStreak(key: string): Promise<void> {
    const fleet = await shared?.readStreak(key)
    if (fleet !== undefined && fleet > streaks.count(key)) streaks.set(key, fleet)
  }

  return { announceStreak, addToStreak, endStreak, syncStreak }
}
