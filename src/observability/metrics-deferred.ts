import { Counter, type CounterConfiguration } from 'prom-client'

/**
 * A counter for the per-check hot path, handed to prom-client only at scrape time: prom-client validates and hashes
 * the labels on every inc(), ~10 µs of a cache hit's ~185 with the request histogram (bench/profile-diff.ts).
 * One or two labels, whose values must be few (reason codes, sources, results).
 */
export interface DeferredCounter {
  /** Adds 1 for these label values, in the order of `labelNames` (the second only with two labels). */
  inc(first: string, second?: string): void
}

interface Slot {
  labels: Partial<Record<string, string>>
  pending: number
}

export function deferredCounter<L extends string>(
  config: Omit<CounterConfiguration<L>, 'collect' | 'labelNames'> & {
    labelNames: readonly [L] | readonly [L, L]
  },
): DeferredCounter {
  const [firstName, secondName] = config.labelNames
  // A Map level per label: no key string is built per increment.
  const byFirst = new Map<string, Map<string | undefined, Slot>>()
  const slots: Slot[] = []
  const counter: Counter<L> = new Counter<L>({
    ...config,
    collect() {
      for (const slot of slots) {
        if (slot.pending === 0) continue
        counter.inc(slot.labels as Partial<Record<L, string>>, slot.pending)
        slot.pending = 0
      }
    },
  })

  function newSlot(first: string, second: string | undefined): Slot {
    const labels: Partial<Record<string, string>> = { [firstName]: first }
    if (secondName !== undefined) labels[secondName] = second ?? ''
    const slot = { labels, pending: 0 }
    slots.push(slot)
    return slot
  }

  return {
    inc(first, second) {
      let level = byFirst.get(first)
      if (!level) byFirst.set(first, (level = new Map<string | undefined, Slot>()))
      let slot = level.get(second)
      if (!slot) level.set(second, (slot = newSlot(first, second)))
      slot.pending++
    },
  }
}
