import type { Clock } from '../../lib/clock.js'

const WINDOW_MS = 1000

/**
 * Meta's limit on the permission query: at most `maxPerSecond` requests in any 1-second sliding window. Only
 * admitted requests are remembered, so the memory is bounded by the limit and at most that many are answered in
 * any window however hard a client pushes.
 */
export function createRateWindow(maxPerSecond: number, clock: Clock): () => boolean {
  if (!Number.isSafeInteger(maxPerSecond) || maxPerSecond < 1)
    throw new RangeError('metaMaxRps must be a positive integer')
  const admitted: number[] = []
  return () => {
    const now = clock.now()
    while (admitted.length > 0 && admitted[0]! <= now - WINDOW_MS) admitted.shift()
    if (admitted.length >= maxPerSecond) return false
    admitted.push(now)
    return true
  }
}
