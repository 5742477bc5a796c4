import type { Clock } from '../lib/clock.js'
import type { Decision } from './decide.js'
import { EVENT_MEMORY_MS } from './events/memory.js'
import { sparseLru } from '../lib/sparse-lru.js'
import { createFactTable, type Newest } from './facts-table.js'

/** Taken before asking Kaleyra or Redis; handed back with the answer. */
export interface Mark {
  seq: number
  atMs: number
}

export type EventVerdict = 'applied' | 'outdated' | 'untrusted'
export type FleetVerdict = 'newest' | 'unknown'

/** What to do with an answer to a question asked at a mark. */
export type Settled =
  | { store: true; decision: Decision }
  /** Something at or after the question happened: answer `decision` uncached, or ask again when undefined. */
  | { store: false; decision: Decision | undefined }

export interface PairFacts {
  mark(key: string): Mark
  /** An answer (Kaleyra's, or Redis's) to a question asked at `mark`; records it when it is the newest fact. */
  settle(key: string, decision: Decision, mark: Mark): Settled
  /** Whether a decision read from Redis is at least as new as every fact this gate knows. */
  usable(key: string, decision: Decision, mark: Mark): boolean
  /**
   * The verdict on an event's decision (its fact time in `checkedAtMs`), without recording it. `fleet`: what the
   * shared tier's own comparison found ('newest'), or 'unknown' when Redis could not say; absent with no Redis.
   */
  judge(key: string, decision: Decision, fleet?: FleetVerdict): EventVerdict
  /** judge(), then records the event when applied. */
  event(key: string, decision: Decision, fleet?: FleetVerdict): EventVerdict
  /** "Nothing before now grants" for one pair. */
  evict(key: string): void
  /** The same for every pair (a business or everything: one floor, conservative for other businesses). */
  evictAll(): void
  /** The reject that holds against any upstream grant of the pair for CACHE_NEGATIVE_TTL_SECONDS, if any. */
  heldDeny(key: string): Decision | undefined
  /** Whether this memory holds a fact of the pair's own (a mass eviction's floor does not count). */
  holds(key: string): boolean
}

export interface PairFactsOptions {
  clock: Clock
  maxEntries: number
  /** EVENT_TRUST_WINDOW_SECONDS in ms. */
  trustWindowMs: number
  /** CACHE_NEGATIVE_TTL_SECONDS in ms: how long a reject holds against a newer Kaleyra grant. */
  negativeTtlMs: number
  /** Counts a pair the memory dropped to stay within its bound. */
  onForget?: () => void
}

export function createPairFacts(opts: PairFactsOptions): PairFacts {
  const { clock, trustWindowMs } = opts
  let seq = 0
  /** The memory is complete since then: later facts of any pair are all here. */
  let completeSinceMs = clock.now()
  // Kept apart from the decision cache and longer than it: a cached answer may go (TTL, eviction, a deny TTL of 0)
  // while the order it proved must stay. Compact rows: every warm pair has one (facts-table.ts).
  const memory = createFactTable({
    maxEntries: opts.maxEntries,
    ttlMs: EVENT_MEMORY_MS,
    clock,
    onEvict: () => {
      completeSinceMs = Math.max(completeSinceMs, clock.now())
      opts.onForget?.()
    },
  })
  // A reject holds for the deny TTL even against a newer Kaleyra grant (Kaleyra may not know of it yet), kept
  // apart so that neither a fresh check nor pressure on the other memories can drop it early.
  const recentDenies =
    opts.negativeTtlMs > 0
      ? sparseLru<{ deny: Decision; untilMs: number }>(opts.maxEntries, {
          ttl: opts.negativeTtlMs,
          ttlResolution: 0,
          perf: clock,
        })
      : undefined
  // Ends exactly when the cached deny does (the cache counts an entry at its TTL as gone).
  const heldDeny = (key: string) => {
    const held = recentDenies?.get(key)
    return held && held.untilMs > clock.now() ? held.deny : undefined
  }
  /** A mass eviction: a fact of every pair. */
  let floor: { atMs: number; seq: number } = { atMs: -Infinity, seq: 0 }

  function view(key: string): Newest | undefined {
    const held = memory.get(key)
    if (floor.seq === 0 || (held && held.seq > floor.seq)) return held
    const fromMs = held?.fromMs ?? completeSince()
    const atMs = Math.max(held?.atMs ?? -Infinity, floor.atMs)
    const denied = !held || floor.atMs >= held.atMs || held.denied
    return { atMs, denied, eventAtMs: held?.eventAtMs ?? -Infinity, seq: floor.seq, fromMs }
  }

  function record(key: string, atMs: number, denied: boolean, event?: Decision): void {
    const held = view(key)
    const newer = !held || atMs > held.atMs || (atMs === held.atMs && denied)
    memory.set(key, {
      atMs: newer ? atMs : (held?.atMs ?? atMs),
      denied: newer ? denied : (held?.denied ?? denied),
      eventAtMs: Math.max(held?.eventAtMs ?? -Infinity, event ? event.checkedAtMs : -Infinity),
      seq: ++seq,
      fromMs: held?.fromMs ?? completeSince(),
      lastEvent: event,
    })
  }

  /**
   * An answer not stored is still a fact at its time: no accept dated before it may grant afterwards. Its meaning
   * is in doubt (a held reject or an overtaking fact refused it), so it counts as a deny on a tie, and the last
   * event stays what an overtaken lookup answers.
   */
  function refused(key: string, atMs: number): void {
    const held = view(key)
    record(key, Math.max(atMs, held?.atMs ?? -Infinity), true, held?.lastEvent)
  }

  const completeSince = () => Math.max(completeSinceMs, clock.now() - EVENT_MEMORY_MS)

  function judge(key: string, decision: Decision, fleet?: FleetVerdict): EventVerdict {
    const atMs = decision.checkedAtMs
    // A reject may always deny, unless a newer event already spoke.
    if (!decision.allowed) return (view(key)?.eventAtMs ?? -Infinity) > atMs ? 'outdated' : 'applied'
    const now = clock.now()
    if (now - atMs > EVENT_MEMORY_MS) return 'untrusted'
    const held = view(key)
    if (held && atMs <= held.atMs) return 'outdated'
    // Nothing newer is held: proof only when every newer fact would have been (docs/consent-ordering.md).
    const proven = fleet === 'newest' || (fleet === undefined && atMs >= (held?.fromMs ?? completeSince()))
    return proven || now - atMs <= trustWindowMs ? 'applied' : 'untrusted'
  }

  return {
    mark: (key) => ({ seq: view(key)?.seq ?? 0, atMs: clock.now() }),
    settle(key, decision, mark) {
      const deny = decision.allowed ? heldDeny(key) : undefined
      if (deny) {
        refused(key, decision.checkedAtMs)
        return { store: false, decision: deny }
      }
      const held = view(key)
      const overtaken = held !== undefined && held.seq > mark.seq
      // Only facts older than the question came meanwhile (a late event): Kaleyra knew them, unless a deny
      // arrived, which an allow never replaces (fail closed).
      const late =
        overtaken && held.atMs < mark.atMs && (!decision.allowed || held.lastEvent?.allowed !== false)
      if (!overtaken || late) {
        // A decision read from Redis may be another gate's event: it counts as one here too.
        record(
          key,
          decision.checkedAtMs,
          !decision.allowed,
          decision.origin === 'event' ? decision : undefined,
        )
        return { store: true, decision }
      }
      refused(key, decision.checkedAtMs)
      return { store: false, decision: decision.allowed ? held.lastEvent : decision }
    },
    usable(key, decision, mark) {
      if (decision.allowed && heldDeny(key)) return false
      const held = view(key)
      if (!held) return true
      if (held.seq > mark.seq && held.atMs >= mark.atMs) return false
      // A deny is always safe to take (fail closed); an allow only when no fact held here is newer.
      return (
        !decision.allowed ||
        decision.checkedAtMs > held.atMs ||
        (decision.checkedAtMs === held.atMs && !held.denied)
      )
    },
    judge,
    event(key, decision, fleet) {
      const verdict = judge(key, decision, fleet)
      // An untrusted accept records nothing: it is no fact, and a later accept within the window may still grant.
      if (verdict !== 'applied') return verdict
      record(key, decision.checkedAtMs, !decision.allowed, decision)
      if (decision.allowed) recentDenies?.delete(key)
      else recentDenies?.set(key, { deny: decision, untilMs: clock.now() + opts.negativeTtlMs })
      return verdict
    },
    evict: (key) => record(key, clock.now(), true),
    heldDeny,
    // Its own row only: a mass eviction's floor holds for every pair, and would make every pair look held.
    holds: (key) => memory.get(key) !== undefined,
    evictAll() {
      floor = { atMs: clock.now(), seq: ++seq }
    },
  }
}
