import { T0 } from '../helpers/gate.js'
import {
  MEMORY_MS,
  describeFact,
  kept,
  outdatedDeny,
  outdates,
  type ConsentView,
  type Fact,
  type Loss,
} from './facts.js'
import { createStreakModel } from './streaks.js'

export const BUSINESSES = ['+918000000001', '+918000000002'] as const
export const USERS = ['+919000000001', '+919000000002', '+919000000003'] as const
export const PAIRS = BUSINESSES.length * USERS.length

export const pairOf = (p: number) => ({
  business: BUSINESSES[Math.floor(p / USERS.length)]!,
  user: USERS[p % USERS.length]!,
})
export const pairName = (p: number) => `b${Math.floor(p / USERS.length) + 1}u${(p % USERS.length) + 1}`
export const pairIndex = (business: string, user: string) =>
  BUSINESSES.indexOf(business as never) * USERS.length + USERS.indexOf(user as never)

/** What the simulator holds for a pair. */
export type KaleyraRecord =
  | { kind: 'none' }
  | { kind: 'reject' }
  | { kind: 'permanent' }
  | { kind: 'temporary'; expiresAtMs: number }
  /** An accept with can_perform_action false (the call limit). */
  | { kind: 'limited'; expiresAtMs: number }

export interface ModelOptions {
  startMs: number
  maxTtlMs: number
  unansweredLimit: number
  trustWindowMs: number
  negativeTtlMs: number
  /** See KeptOptions (facts.ts). */
  refusedGrantsAreFacts: boolean
  /** CACHE_MAX_ENTRIES when the variant squeezes the gate's memories; the gate may lose evidence at any time. */
  bound?: number
}

/** A /can-call answer with status 200. */
export interface Answer {
  allowed: boolean
  reason: string
  source: string
  checked_at: string
  consent: {
    response: string
    is_permanent: boolean
    can_perform_action: boolean
    expires_at: string | null
  } | null
}

/**
 * The reference model: every fact each gate was told, per pair, in the order it was told; the Kaleyra records;
 * the streaks; the points where the gate may have lost evidence. judge() says whether an allow was legal.
 */
/**
 * A model judging a gate started with `env` (the gate's defaults where a variable is unset). `bound`: the memory
 * bound when the pairs can reach it, so evidence may be dropped at any time.
 */
export function modelForEnv(env: Record<string, string | undefined>, bound?: number): ConsentModel {
  return new ConsentModel({
    startMs: T0,
    maxTtlMs: Number(env.CACHE_MAX_TTL_SECONDS ?? 300) * 1000,
    unansweredLimit: Number(env.UNANSWERED_STREAK_LIMIT ?? 3),
    trustWindowMs: Number(env.EVENT_TRUST_WINDOW_SECONDS) * 1000,
    negativeTtlMs: Number(env.CACHE_NEGATIVE_TTL_SECONDS ?? 30) * 1000,
    // MODEL_REFUSED_GRANTS=ignore: judge as the first version of facts.ts did (refused grants recorded nothing).
    refusedGrantsAreFacts: process.env.MODEL_REFUSED_GRANTS !== 'ignore',
    bound,
  })
}

export class ConsentModel {
  seq = 0
  readonly facts: Fact[][] = Array.from({ length: PAIRS }, () => [])
  readonly kaleyra: KaleyraRecord[] = Array.from({ length: PAIRS }, () => ({ kind: 'none' }))
  /** Sequence points where a gate restarted: what it was told before may be gone. */
  readonly restarts: number[] = []
  readonly streaks
  private readonly clockLog: [seq: number, ms: number][]

  constructor(readonly opts: ModelOptions) {
    this.clockLog = [[0, opts.startMs]]
    this.streaks = createStreakModel({ pairs: PAIRS, limit: opts.unansweredLimit, bound: opts.bound })
  }

  get nowMs(): number {
    return this.clockLog.at(-1)![1]
  }

  clockAt(seq: number): number {
    let ms = this.clockLog[0]![1]
    for (const [at, value] of this.clockLog) if (at <= seq) ms = value
    return ms
  }

  next(): number {
    return ++this.seq
  }

  advance(ms: number): void {
    this.clockLog.push([this.next(), this.nowMs + ms])
  }

  restart(): void {
    const seq = this.next()
    this.restarts.push(seq)
    this.streaks.forgetAll(seq)
  }

  /** An event fact (reply, outcome, eviction) told at `seq`. */
  tell(p: number, seq: number, fact: Omit<Fact, 'toldSeq' | 'toldAtMs' | 'askedSeq' | 'askedAtMs'>): Fact {
    const told = { ...fact, toldSeq: seq, toldAtMs: this.nowMs, askedSeq: seq, askedAtMs: this.nowMs }
    this.facts[p]!.push(told)
    return told
  }

  /** Kaleyra answered a question asked at `askedSeq`, with what the simulator holds now. */
  tellKaleyra(p: number, asked: { seq: number; atMs: number }): Fact {
    const record = this.kaleyra[p]!
    const now = this.nowMs
    const grant = record.kind === 'permanent' || (record.kind === 'temporary' && record.expiresAtMs > now)
    const consent: ConsentView | undefined = grant
      ? {
          permanent: record.kind === 'permanent',
          expiresAtMs: record.kind === 'temporary' ? record.expiresAtMs : null,
        }
      : undefined
    const seq = this.next()
    const fact: Fact = {
      kind: grant ? 'grant' : 'deny',
      via: 'kaleyra',
      atMs: now,
      toldSeq: seq,
      toldAtMs: now,
      askedSeq: asked.seq,
      askedAtMs: asked.atMs,
      consent,
      note: `kaleyra holds ${record.kind}`,
    }
    this.facts[p]!.push(fact)
    return fact
  }

  /**
   * Since when, before `seq`, the gate's memory is complete: surely since its start or last restart (nothing was
   * told before the first start, so that one loses nothing); under the tiny bound maybe only since just now.
   */
  private readonly lossBefore = (seq: number): { sure: Loss; maybe: Loss } => {
    const at = (s: number) => ({ seq: s, atMs: this.clockAt(s) })
    const sure = at(Math.max(0, ...this.restarts.filter((r) => r < seq)))
    return { sure, maybe: this.opts.bound !== undefined ? at(seq - 1) : sure }
  }

  /**
   * Why an allow answered for pair `p`, asked at `startSeq` and received at `endSeq`, is illegal; undefined when
   * it is legal at some point between the two (the gate may have answered at any of them).
   */
  judge(p: number, answer: Answer, startSeq: number, endSeq: number): string | undefined {
    const checkedAt = Date.parse(answer.checked_at)
    const fromEvent = answer.source === 'event'
    const c = answer.consent
    if (!c || answer.reason !== 'consent_granted' || c.response !== 'accept' || !c.can_perform_action)
      return 'an allow that is not a granted accept'
    const expiresAtMs = c.expires_at === null ? null : Date.parse(c.expires_at)
    const candidates = this.facts[p]!.filter(
      (f) =>
        f.kind === 'grant' &&
        f.atMs === checkedAt &&
        (f.via === 'reply') === fromEvent &&
        f.consent?.permanent === c.is_permanent &&
        f.consent.expiresAtMs === expiresAtMs,
    )
    if (candidates.length === 0) return 'no grant the gate was told matches it (time, source, consent)'
    const why = new Set<string>()
    for (const f of candidates) {
      for (let cut = Math.max(startSeq, f.toldSeq); cut <= endSeq; cut++) {
        const problems = this.problems(p, f, cut, expiresAtMs, c.is_permanent)
        if (problems.length === 0) return undefined
        problems.forEach((x) => why.add(x))
      }
    }
    return why.size > 0 ? [...why].join('; ') : 'the grant it matches was told only after the answer'
  }

  private problems(
    p: number,
    f: Fact,
    cut: number,
    expiresAtMs: number | null,
    permanent: boolean,
  ): string[] {
    const t = this.clockAt(cut)
    const out: string[] = []
    const limit = this.opts.unansweredLimit
    if (limit > 0 && this.streaks.at(p, cut, t) >= limit)
      out.push(`(a) unanswered streak at the limit ${limit}`)
    if (expiresAtMs === null ? !permanent : expiresAtMs <= t) out.push('(b) the consent is expired')
    if (t - f.toldAtMs > this.opts.maxTtlMs) out.push('(c) older than CACHE_MAX_TTL_SECONDS')
    if (f.stampMs !== undefined && f.toldAtMs - f.stampMs > MEMORY_MS) out.push('a reply older than 7 days')
    const { certain, possible, candidateDropped } = kept(this.facts[p]!, cut, {
      lossBefore: this.lossBefore,
      trustWindowMs: this.opts.trustWindowMs,
      negativeTtlMs: this.opts.negativeTtlMs,
      refusedGrantsAreFacts: this.opts.refusedGrantsAreFacts,
      candidate: f,
    })
    if (candidateDropped)
      out.push(
        'the fact it rests on changes nothing when told (outdated, a reply older than 7 days, or an accept ' +
          "dated before the gate's memory is complete and older than the trust window)",
      )
    // Only what the gate surely holds can outdate the answer; what it may hold can outdate a deny event.
    const newer = certain.filter((g) => g !== f && outdates(g, f, outdatedDeny(g, possible)))
    if (newer.length === 0) return out
    // (d): an accept within the trust window, against only what was told since the gate may have lost evidence.
    const loss = this.lossBefore(f.toldSeq).maybe
    const inWindow = f.stampMs !== undefined && f.toldAtMs - f.stampMs <= this.opts.trustWindowMs
    if (!(f.via === 'reply' && inWindow && newer.every((g) => g.toldSeq <= loss.seq)))
      out.push(`(c) not the newest fact: ${newer.map(describeFact).join(' | ')}`)
    return out
  }

  /** The pair's facts, for a failure message. */
  describe(p: number): string {
    return this.facts[p]!.map((f) => `    ${describeFact(f)}`).join('\n')
  }
}
