import { describe, expect, it } from 'vitest'
import { kept, outdates, type Fact } from './facts.js'
import { ConsentModel } from './model.js'
import { createStreakModel } from './streaks.js'

/** The reference model is code too: these pin the rules it encodes (docs/consent-ordering.md). */

const S = 1000
let seq = 0
const event = (kind: Fact['kind'], atMs: number, via: Fact['via'] = 'reply'): Fact => {
  const s = ++seq
  return { kind, via, atMs, toldSeq: s, toldAtMs: atMs, askedSeq: s, askedAtMs: atMs, note: '' }
}
/** A Kaleyra answer asked at `askedSeq` (time `askedAtMs`), arriving now at `atMs`. */
const kaleyra = (kind: 'grant' | 'deny', asked: { seq: number; atMs: number }, atMs: number): Fact => ({
  kind,
  via: 'kaleyra',
  atMs,
  toldSeq: ++seq,
  toldAtMs: atMs,
  askedSeq: asked.seq,
  askedAtMs: asked.atMs,
  note: '',
})
const ask = (atMs: number) => ({ seq: ++seq, atMs })
const noLoss = {
  lossBefore: () => ({ sure: { seq: 0, atMs: 0 }, maybe: { seq: 0, atMs: 0 } }),
  trustWindowMs: 300 * S,
  negativeTtlMs: 30 * S,
  refusedGrantsAreFacts: true,
}

describe('outdates: which fact is newer', () => {
  it('lets a deny win a tie with an accept, in either order', () => {
    const reject = event('deny', 10 * S)
    const accept = event('grant', 10 * S)
    expect(outdates(reject, accept)).toBe(true)
    const later = event('deny', 10 * S)
    expect(outdates(later, accept)).toBe(true)
  })

  it('lets the accept told first win a tie of two accepts', () => {
    const first = event('grant', 10 * S)
    const second = event('grant', 10 * S)
    expect(outdates(first, second)).toBe(true)
    expect(outdates(second, first)).toBe(false)
  })

  it('makes a Kaleyra answer newer than what the gate knew when it asked, and a late accept older', () => {
    const accept = event('grant', 20 * S)
    const answer = kaleyra('deny', ask(20 * S), 20 * S)
    expect(outdates(answer, accept)).toBe(true)
    const late = event('grant', 19 * S)
    expect(outdates(answer, late)).toBe(true)
    const newer = event('grant', 21 * S)
    expect(outdates(answer, newer)).toBe(false)
  })

  it('lets an event at or after the question overtake the answer in flight, but not a late accept', () => {
    const question = ask(30 * S)
    const atQuestion = event('grant', 30 * S)
    const late = event('grant', 29 * S)
    const answer = kaleyra('grant', question, 31 * S)
    expect(outdates(atQuestion, answer)).toBe(true)
    expect(outdates(late, answer)).toBe(false)
  })

  it('lets a reject that comes after a Kaleyra grant deny, whatever its time, unless a newer event outdated it', () => {
    const answer = kaleyra('grant', ask(40 * S), 40 * S)
    const old = event('deny', 1 * S)
    expect(outdates(old, answer)).toBe(true)
    expect(outdates(old, answer, true)).toBe(false)
  })
})

describe('kept: the facts the gate keeps', () => {
  it('keeps a Kaleyra grant refused while a reject holds only as the rule is written, not as the gate does', () => {
    const question = ask(50 * S)
    const reject = event('deny', 49 * S)
    const refused = kaleyra('grant', question, 50 * S)
    const written = kept([reject, refused], seq, noLoss).certain
    const asDone = kept([reject, refused], seq, { ...noLoss, refusedGrantsAreFacts: false }).certain
    expect(written).toContain(refused)
    expect(asDone).not.toContain(refused)
  })

  it('drops a Kaleyra answer when an event at or after its question came while it was asked', () => {
    const question = ask(60 * S)
    const accept = event('grant', 60 * S)
    const overtaken = kaleyra('deny', question, 61 * S)
    expect(kept([accept, overtaken], seq, noLoss).certain).toEqual([accept])
  })

  it('never keeps a reply older than 7 days, and after a loss an accept older than the trust window', () => {
    const now = 10 * 86_400 * S
    const stale = { ...event('grant', now - 8 * 86_400 * S), toldAtMs: now, stampMs: now - 8 * 86_400 * S }
    const outside = { ...event('grant', now - 400 * S), toldAtMs: now, stampMs: now - 400 * S }
    const inside = { ...event('grant', now - 200 * S), toldAtMs: now, stampMs: now - 200 * S }
    const loss = { seq: 0, atMs: now }
    const opts = { ...noLoss, lossBefore: () => ({ sure: loss, maybe: loss }) }
    const { possible } = kept([stale, outside, inside], seq, opts)
    expect(possible).toEqual([inside])
  })
})

describe('ConsentModel.judge', () => {
  const model = () =>
    new ConsentModel({
      startMs: 0,
      maxTtlMs: 300 * S,
      unansweredLimit: 3,
      trustWindowMs: 300 * S,
      negativeTtlMs: 30 * S,
      refusedGrantsAreFacts: true,
    })
  const allow = (checkedAtMs: number, source: string) => ({
    allowed: true,
    reason: 'consent_granted',
    source,
    checked_at: new Date(checkedAtMs).toISOString(),
    consent: { response: 'accept', is_permanent: true, can_perform_action: true, expires_at: null },
  })
  const permanent = { permanent: true, expiresAtMs: null }

  it('allows on the newest grant and refuses an accept older than a 138006 eviction', () => {
    const m = model()
    m.advance(60 * S)
    const accept = m.tell(0, m.next(), {
      kind: 'grant',
      via: 'reply',
      atMs: 50 * S,
      consent: permanent,
      note: '',
    })
    expect(m.judge(0, allow(accept.atMs, 'event'), accept.toldSeq, m.seq)).toBeUndefined()
    m.tell(0, m.next(), { kind: 'evict', via: 'outcome', atMs: 60 * S, note: '' })
    const older = m.tell(0, m.next(), {
      kind: 'grant',
      via: 'reply',
      atMs: 55 * S,
      consent: permanent,
      note: '',
    })
    expect(m.judge(0, allow(older.atMs, 'event'), older.toldSeq, m.seq)).toMatch(/not the newest/)
  })

  it('refuses an allow at the unanswered streak limit', () => {
    const m = model()
    const accept = m.tell(0, m.next(), { kind: 'grant', via: 'reply', atMs: 0, consent: permanent, note: '' })
    for (let i = 0; i < 3; i++) m.streaks.count(0, m.next(), 0, true)
    expect(m.judge(0, allow(accept.atMs, 'event'), m.seq, m.seq)).toMatch(/\(a\)/)
  })
})

describe('the streak model', () => {
  it('never lets the bound drop a blocked pair for a counting one', () => {
    const streaks = createStreakModel({ pairs: 4, limit: 2, bound: 2 })
    streaks.count(0, 1, 0, true)
    streaks.count(0, 2, 0, true)
    for (const [p, s] of [
      [1, 3],
      [2, 4],
      [3, 5],
    ])
      streaks.count(p!, s!, 0, true)
    expect(streaks.at(0, 5, 0)).toBe(2)
    // Three counting pairs over a bound of 2: the first may be gone.
    expect(streaks.at(1, 5, 0)).toBe(0)
  })
})
