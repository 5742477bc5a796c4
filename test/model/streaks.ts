import { MEMORY_MS } from './facts.js'

interface Step {
  seq: number
  /** The fewest unanswered calls in a row the gate can hold for the pair. */
  lo: number
  /** The most it can hold: an entry it may still keep, for the bound's bookkeeping. */
  hi: number
  lastAtMs: number
}

/**
 * Per-pair unanswered streaks as a lower bound of what the gate holds, with its history so an answer can be judged
 * at any point of its request. The gate may forget a streak (a restart, 7 days, its bound in the pressure variant,
 * never a blocked pair for a counting one): then the bound drops to 0.
 */
export function createStreakModel(opts: { pairs: number; limit: number; bound?: number }) {
  const history: Step[][] = Array.from({ length: opts.pairs }, () => [
    { seq: 0, lo: 0, hi: 0, lastAtMs: -Infinity },
  ])
  const last = (p: number) => history[p]!.at(-1)!
  const live = (s: Step, nowMs: number) => (nowMs - s.lastAtMs >= MEMORY_MS ? { lo: 0, hi: 0 } : s)

  function push(p: number, seq: number, step: Omit<Step, 'seq'>): void {
    const steps = history[p]!
    let at = steps.length
    while (at > 0 && steps[at - 1]!.seq > seq) at--
    steps.splice(at, 0, { seq, ...step })
  }

  /** The bound drops pairs of the same kind (counting or blocked) to admit another: any of them may be gone. */
  function pressure(q: number, seq: number, nowMs: number): void {
    const bound = opts.bound
    if (bound === undefined) return
    const mine = live(last(q), nowMs)
    const counting = (s: { lo: number; hi: number }) => s.hi > 0 && s.lo < opts.limit
    const blocked = (s: { hi: number }) => s.hi >= opts.limit
    for (const [kind, applies] of [
      [counting, counting(mine)],
      [blocked, blocked(mine)],
    ] as const) {
      if (!applies) continue
      const others = history.map((_, p) => p).filter((p) => p !== q && kind(live(last(p), nowMs)))
      if (others.length < bound) continue
      for (const p of others) push(p, seq, { ...last(p), lo: 0 })
    }
  }

  return {
    /** An unanswered or rejected call; `certain`: false when the gate may have deduped it. */
    count(p: number, seq: number, nowMs: number, certain: boolean): void {
      const s = live(last(p), nowMs)
      push(p, seq, { lo: s.lo + (certain ? 1 : 0), hi: s.hi + 1, lastAtMs: nowMs })
      pressure(p, seq, nowMs)
    },
    /** An answered call or an applied accept; `certain`: false when the gate may have deduped it. */
    end(p: number, seq: number, certain: boolean): void {
      push(p, seq, certain ? { lo: 0, hi: 0, lastAtMs: -Infinity } : { ...last(p), lo: 0 })
    },
    forgetAll(seq: number): void {
      for (let p = 0; p < opts.pairs; p++) push(p, seq, { lo: 0, hi: 0, lastAtMs: -Infinity })
    },
    /** The lower bound at a point of the sequence, the clock then being `nowMs`. */
    at(p: number, seq: number, nowMs: number): number {
      const steps = history[p]!
      let s = steps[0]!
      for (const step of steps) if (step.seq <= seq) s = step
      return live(s, nowMs).lo
    },
  }
}
