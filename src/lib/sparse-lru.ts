import { LRUCache } from 'lru-cache'

/**
 * An LRU bounded by entry count that allocates as it fills. lru-cache preallocates its lists to `max`: ~20 ms of
 * start-up at the default 100,000 entries, for each cache (bench scenario 5 profile). The event and streak memories
 * are created at start-up and hold few entries in practice, so they bound the count through `maxSize` (each entry
 * sized 1) instead. The decision cache keeps `max`: it fills, and preallocated lists cost less per entry.
 */
export function sparseLru<V extends NonNullable<unknown>>(
  maxEntries: number,
  options: Omit<LRUCache.Options<string, V, unknown>, 'max' | 'maxSize' | 'sizeCalculation'>,
): LRUCache<string, V> {
  return new LRUCache<string, V>({ ...options, maxSize: maxEntries, sizeCalculation: () => 1 })
}
