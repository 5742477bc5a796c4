import type { BusMessage, StoredDecision as Decision } from '../schemas/decision.js'

/**
 * The port the consent core shares through with other gates (REDIS_URL): the Redis adapter in redis-tier.ts
 * implements it. Redis trouble never blocks a check: every operation is bounded, and "cannot say" is undefined.
 */

/** A decision another gate (or this one, earlier) stored, and how much of its TTL is left. */
export interface SharedDecision {
  decision: Decision
  ttlMs: number
}

/** What Redis made of a fact: stored, older than the pair's newest fact, or an accept it cannot prove newest. */
export type FactWrite = 'stored' | 'outdated' | 'untrusted'

export interface SharedTier {
  readonly up: boolean
  /** The pair's decision, only while no newer fact (an eviction, a newer event) stands beside it. */
  readDecision(key: string): Promise<SharedDecision | undefined>
  /**
   * Writes a decision as a fact, compared by time with the pair's newest fact in one script (docs/consent-ordering.md).
   * An event's write is retried; undefined when Redis could not say.
   */
  writeFact(
    key: string,
    decision: Decision,
    ttlMs: number,
    kind: 'upstream' | 'event',
    /** For Kaleyra's answer: when it was asked (a grant is compared by it). */
    askedAtMs?: number,
  ): Promise<FactWrite | undefined>
  /** "Nothing before now grants" for the pair, fleet-wide (retried). */
  evictFact(key: string): Promise<void>
  /** True: this gate fetches the pair. False: another gate is fetching it; wait with awaitDecision. */
  acquireFetch(key: string): Promise<boolean>
  releaseFetch(key: string): void
  /** Polls for the answer of the gate fetching the pair; undefined when it gave up (lock gone) or time ran out. */
  awaitDecision(key: string, waitMs: number): Promise<SharedDecision | undefined>
  /** True the first time an id is seen across the fleet, false after; undefined when Redis cannot say. */
  markSeen(id: string, ttlMs: number): Promise<boolean | undefined>
  /** Adds one to a pair's streak; the new count, or undefined when Redis cannot say. */
  incrStreak(key: string, ttlMs: number): Promise<number | undefined>
  /** Sets a pair's streak (0 ends it), for an end or to restore a count Redis lost. */
  setStreak(key: string, count: number, ttlMs: number): void
  /** The fleet's current streak for a pair (0 when none), or undefined when Redis cannot say. */
  readStreak(key: string): Promise<number | undefined>
  /** A business's or every pair's decisions, evicted: a floor every pair's facts are compared with. */
  deleteDecisions(match: { business?: string }): Promise<void>
  /** The phone number linked to a BSUID across the fleet; undefined when none, or when Redis cannot say. */
  readLink(bsuid: string): Promise<string | undefined>
  /** Links a BSUID and a phone number for `ttlMs` (retried: other gates resolve the BSUID by it). */
  writeLink(bsuid: string, phone: string, ttlMs: number): Promise<void>
  /** Forgets every link of these identities (retried); returns the identities they were linked to. */
  dropLinks(identities: readonly string[]): Promise<string[]>
  publish(message: BusMessage): void
  onMessage(handler: (message: BusMessage) => void): void
  close(): Promise<void>
}
