import { describe, expect, it } from 'vitest'
import { sparseLru } from '../../../src/lib/sparse-lru.js'

describe('sparseLru', () => {
  it('holds at most maxEntries, dropping the least recently used first', () => {
    const lru = sparseLru<number>(3, {})
    for (const k of ['a', 'b', 'c']) lru.set(k, 1)
    lru.get('a')
    lru.set('d', 1)
    expect([...lru.keys()].sort()).toEqual(['a', 'c', 'd'])
    for (let i = 0; i < 1000; i++) lru.set(`k${i}`, i)
    expect(lru.size).toBe(3)
  })

  it('allocates as it fills: an empty one costs nothing like a preallocated one', () => {
    const before = process.memoryUsage().heapUsed
    const caches = Array.from({ length: 20 }, () => sparseLru<number>(100_000, { ttl: 1000 }))
    // 20 preallocated caches of 100,000 would hold ~80 MB of lists.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(10 * 1024 * 1024)
    expect(caches).toHaveLength(20)
  })
})
