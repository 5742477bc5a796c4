/**
 * The reference model's facts and THE RULE of docs/consent-ordering.md, as a comparison of two facts. Pure: no
 * gate, no clock, no I/O.
 */

/** 7 days: Meta's delivery retry horizon; a reply older than this never grants. */
export const MEMORY_MS = 7 * 86_400_000

export interface ConsentView {
  permanent: boolean
  expiresAtMs: number | null
}

export type Via = 'kaleyra' | 'reply' | 'outcome' | 'admin'

/** Something the gate was told about one pair. */
export interface Fact {
  /**
   * `floor`: another business's eviction. The gate's fact memory counts it for every pair, so it outdates what
   * comes after it dated no later and a Kaleyra answer in flight, but the cache keeps this pair's entries.
   */
  kind: 'grant' | 'deny' | 'evict' | 'floor'
  via: Via
  /** Its time, as the docs' table gives it. */
  atMs: number
  /** When the gate was told, in the model's sequence; for a Kaleyra answer, when the answer arrived. */
  toldSeq: number
  toldAtMs: number
  /** A Kaleyra answer: when the gate asked (its mark). Any other fact: toldSeq and toldAtMs. */
  askedSeq: number
  askedAtMs: number
  consent?: ConsentView
  /** A reply's own timestamp, before a future one is clamped to the clock. */
  stampMs?: number
  /** A reply delivered again: it may be what a grant rests on, but never outdates a fact (it may be deduped). */
  replay?: boolean
  note: string
}

const isEvent = (f: Fact) => f.via !== 'kaleyra'
/** A reply or a 138012 outcome: an event with a decision of its own (an eviction has none). */
const decides = (f: Fact) => f.via === 'reply' || (f.via === 'outcome' && f.kind === 'deny')
const denyEvent = (f: Fact) => f.kind === 'deny' && decides(f)

/**
 * Whether `g` is at least as new as the grant `f`, so that `f` is not the newest fact. Events by time, a deny or
 * an eviction winning a tie, and of two grants the one told first. A Kaleyra answer is newer than everything told
 * before the question; what came while it was asked is newer when at or after the question, and a deny event
 * always is (fail closed); what came after it arrived is ordered by time, except that a deny event always denies
 * unless `gOutdated`: a strictly newer event outdated it ("a deny event is outdated only by a strictly newer
 * event"), and it counts by its time alone.
 */
export function outdates(g: Fact, f: Fact, gOutdated = false): boolean {
  if (g.kind === 'floor')
    return f.via === 'kaleyra'
      ? g.toldSeq > f.askedSeq && g.toldSeq < f.toldSeq
      : g.toldSeq < f.toldSeq && g.atMs >= f.atMs
  const fails = g.kind === 'evict' || (denyEvent(g) && !gOutdated)
  if (f.via === 'kaleyra') {
    if (g.toldSeq < f.askedSeq) return false
    if (g.toldSeq < f.toldSeq) return fails || g.atMs >= f.askedAtMs
    if (isEvent(g)) return fails || g.atMs > f.atMs
    if (g.askedSeq > f.toldSeq) return true
    return f.atMs < g.askedAtMs
  }
  // On a tie a deny wins, and of two grants the one told first ("on a tie the older fact wins").
  if (isEvent(g))
    return g.atMs > f.atMs || (g.atMs === f.atMs && (g.kind !== 'grant' || g.toldSeq < f.toldSeq))
  if (f.toldSeq < g.askedSeq) return true
  if (f.toldSeq < g.toldSeq) return f.atMs < g.askedAtMs
  return f.atMs <= g.atMs
}

/** A deny event that a strictly newer event (a reply or a 138012) outdates. */
export const outdatedDeny = (g: Fact, told: Fact[]) =>
  denyEvent(g) && told.some((e) => decides(e) && e.atMs > g.atMs)

/** Where the gate may have lost what it was told before: `seq` in the model's sequence, `atMs` on the clock. */
export interface Loss {
  seq: number
  atMs: number
}

export interface KeptOptions {
  /**
   * Since when, before `seq`, the gate's memory is complete: `sure`, its start or last restart; `maybe`, the
   * same or, under the tiny bound, any point (the memory may have dropped the pair).
   */
  lossBefore: (seq: number) => { sure: Loss; maybe: Loss }
  trustWindowMs: number
  /** CACHE_NEGATIVE_TTL_SECONDS in ms: how long a reject holds against a newer Kaleyra grant. */
  negativeTtlMs: number
  /**
   * True (the rule as written): a Kaleyra grant the gate refuses because a reject holds is still a fact ("the
   * answer is stored and becomes the newest fact"; the reject is what is answered). False: as src/consent/facts.ts
   * does it, such a grant is no fact at all, so an accept older than it may grant later.
   */
  refusedGrantsAreFacts: boolean
}

/**
 * The facts the gate keeps, in the order it was told them (docs/consent-ordering.md): an event that something
 * it knows outdates changes nothing; a Kaleyra answer is not stored when something at or after its question came
 * while it was asked, nor a Kaleyra grant when a deny event came meanwhile ("a reject may always deny ... the
 * next check after the deny's TTL asks Kaleyra again"); a reply older than 7 days never grants, nor, after a loss,
 * an accept dated before it and older than the trust window. Where evidence may be lost, and for replays (the gate
 * may dedupe them), the answer is a range: `certain` facts the gate keeps whatever it forgot, `possible` ones it
 * may keep. `candidateDropped`: the gate surely ignored `candidate`.
 */
export function kept(
  facts: Fact[],
  cut: number,
  opts: KeptOptions & { candidate?: Fact },
): { certain: Fact[]; possible: Fact[]; candidateDropped: boolean } {
  const certain: Fact[] = []
  const possible: Fact[] = []
  let candidateDropped = false
  /**
   * Whether the gate drops `x`, given facts that may cause it and facts that may prevent it. `surely`: causes
   * it surely holds, preventers it may hold (an accept after a loss is dropped only with nothing held since);
   * otherwise causes it may hold and preventers it surely holds.
   */
  const drops = (x: Fact, causes: Fact[], preventers: Fact[], loss: Loss, surely: boolean): boolean => {
    if (x.via === 'kaleyra') {
      if (causes.some((y) => y.toldSeq > x.askedSeq && y.atMs >= x.askedAtMs)) return true
      if (x.kind !== 'grant' || opts.refusedGrantsAreFacts) return false
      // A reject holds: one that came while Kaleyra was asked, or one within its deny TTL and no accept since.
      const acceptAfter = (y: Fact) =>
        preventers.some((z) => z.kind === 'grant' && decides(z) && z.toldSeq > y.toldSeq)
      return causes.some(
        (y) =>
          denyEvent(y) &&
          !outdatedDeny(y, preventers) &&
          (y.toldSeq > x.askedSeq || (x.toldAtMs < y.toldAtMs + opts.negativeTtlMs && !acceptAfter(y))),
      )
    }
    if (x.kind === 'grant') {
      const age = x.toldAtMs - (x.stampMs ?? x.atMs)
      if (age > MEMORY_MS) return true
      const heldSince = (y: Fact) => y.toldSeq > loss.seq
      if (x.atMs < loss.atMs && age > opts.trustWindowMs && !(surely && preventers.some(heldSince)))
        return true
      return causes.some((y) => outdates(y, x, outdatedDeny(y, preventers)))
    }
    return denyEvent(x) && outdatedDeny(x, causes)
  }
  for (const x of facts) {
    if (x.toldSeq > cut) break
    const { sure, maybe } = opts.lossBefore(x.toldSeq)
    // What the gate surely still holds when x comes, and all it may hold.
    const held = certain.filter((y) => y.toldSeq > maybe.seq)
    const surelyDropped = drops(x, held, possible, sure, true)
    if (x === opts.candidate) candidateDropped = surelyDropped
    // A replay may be applied (when the gate forgot its id) but is never sure to be.
    if (!x.replay && !drops(x, possible, held, maybe, false)) certain.push(x)
    if (!surelyDropped) possible.push(x)
  }
  return { certain, possible, candidateDropped }
}

export function describeFact(f: Fact): string {
  const iso = (ms: number) => new Date(ms).toISOString()
  const asked = f.via === 'kaleyra' ? ` asked#${f.askedSeq}@${iso(f.askedAtMs)}` : ''
  return `#${f.toldSeq} ${f.kind} via ${f.via}${f.replay ? ' (replay)' : ''} at ${iso(f.atMs)} told@${iso(f.toldAtMs)}${asked}: ${f.note}`
}
