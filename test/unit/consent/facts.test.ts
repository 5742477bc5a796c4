import { describe, expect, it } from 'vitest'
import { createManualClock } from '../../../src/lib/clock.js'
import { EVENT_MEMORY_MS } from '../../../src/consent/events/memory.js'
import { createPairFacts } from '../../../src/consent/facts.js'
import type { Decision } from '../../../src/consent/decide.js'
import { allowDecision, denyDecision } from '../../helpers/decisions.js'

const T0 = Date.UTC(2026, 10, 25, 12)
const KEY = '+918000000001|+919000000001'
const event = (d: Decision): Decision => ({ ...d, origin: 'event' })
const acceptAt = (atMs: number) => event(allowDecision(atMs, null))
const rejectAt = (atMs: number) => event(denyDecision(atMs))

function setup(opts: { maxEntries?: number; trustWindowMs?: number; negativeTtlMs?: number } = {}) {
  const clock = createManualClock(T0)
  let forgotten = 0
  const facts = createPairFacts({
    clock,
    maxEntries: opts.maxEntries ?? 100,
    trustWindowMs: opts.trustWindowMs ?? 60_000,
    negativeTtlMs: opts.negativeTtlMs ?? 30_000,
    onForget: () => forgotten++,
  })
  return { clock, facts, forgotten: () => forgotten }
}

describe('pair facts: events', () => {
  it('grants an accept only when strictly newer than every fact held, Kaleyra answers included', () => {
    const { clock, facts } = setup()
    clock.advance(10_000)
    expect(facts.settle(KEY, denyDecision(clock.now()), facts.mark(KEY)).store).toBe(true)
    expect(facts.event(KEY, acceptAt(clock.now()))).toBe('outdated')
    expect(facts.event(KEY, acceptAt(clock.now() - 1))).toBe('outdated')
    clock.advance(1)
    expect(facts.event(KEY, acceptAt(clock.now()))).toBe('applied')
  })

  it('lets a reject deny over a newer Kaleyra answer, but not over a newer event', () => {
    const { clock, facts } = setup()
    clock.advance(10_000)
    facts.settle(KEY, allowDecision(clock.now(), null), facts.mark(KEY))
    expect(facts.event(KEY, rejectAt(clock.now() - 5000))).toBe('applied')
    expect(facts.event(KEY, acceptAt(clock.now() + 0))).toBe('outdated')
    clock.advance(1)
    expect(facts.event(KEY, acceptAt(clock.now()))).toBe('applied')
    expect(facts.event(KEY, rejectAt(clock.now() - 1))).toBe('outdated')
  })

  it('treats an eviction as "nothing before now grants", for one pair or every pair', () => {
    const { clock, facts } = setup()
    clock.advance(10_000)
    facts.evict(KEY)
    expect(facts.event(KEY, acceptAt(clock.now() - 1))).toBe('outdated')
    clock.advance(5)
    facts.evictAll()
    expect(facts.event('other|pair', acceptAt(clock.now() - 1))).toBe('outdated')
    expect(facts.event(KEY, acceptAt(clock.now()))).toBe('outdated')
    clock.advance(1)
    expect(facts.event(KEY, acceptAt(clock.now()))).toBe('applied')
  })

  it('never grants a reply older than the 7-day event memory', () => {
    const { clock, facts } = setup({ trustWindowMs: 30 * 86_400_000 })
    clock.advance(EVENT_MEMORY_MS + 10_000)
    expect(facts.event(KEY, acceptAt(T0 + 1000))).toBe('untrusted')
  })

  it('trusts an accept from before the memory was complete only within the window', () => {
    const { clock, facts } = setup({ trustWindowMs: 60_000 })
    clock.advance(1000)
    expect(facts.event(KEY, acceptAt(T0 - 120_000))).toBe('untrusted')
    // An untrusted accept is no fact: a later one within the window still grants.
    expect(facts.event(KEY, acceptAt(T0 - 30_000))).toBe('applied')
  })

  it('after dropping a pair at its bound, does not take a rebuilt entry as complete', () => {
    const { clock, facts, forgotten } = setup({ maxEntries: 1, trustWindowMs: 1000 })
    clock.advance(10_000)
    facts.event(KEY, rejectAt(clock.now()))
    clock.advance(10_000)
    facts.event('other|pair', rejectAt(clock.now()))
    expect(forgotten()).toBe(1)
    // The reject at T0+10 s is gone; an older deny rebuilds the entry, which must not vouch for T0+5 s.
    facts.event(KEY, rejectAt(T0 + 1000))
    expect(facts.event(KEY, acceptAt(T0 + 5000))).toBe('untrusted')
  })

  it('takes the fleet verdict: newest proves, unknown falls back to the window', () => {
    const { clock, facts } = setup({ trustWindowMs: 1000 })
    clock.advance(10_000)
    expect(facts.judge(KEY, acceptAt(T0 - 5000), 'newest')).toBe('applied')
    expect(facts.judge(KEY, acceptAt(clock.now() - 5000), 'unknown')).toBe('untrusted')
    expect(facts.judge(KEY, acceptAt(clock.now() - 500), 'unknown')).toBe('applied')
  })
})

describe('pair facts: lookups', () => {
  it('stores an answer when nothing happened since the question, or only older facts', () => {
    const { clock, facts } = setup()
    clock.advance(10_000)
    const mark = facts.mark(KEY)
    facts.event(KEY, acceptAt(clock.now() - 5000))
    clock.advance(100)
    const settled = facts.settle(KEY, denyDecision(clock.now()), mark)
    expect(settled).toMatchObject({ store: true, decision: { allowed: false } })
  })

  it('never stores a grant an eviction overtook, and gives no decision to answer', () => {
    const { clock, facts } = setup()
    clock.advance(10_000)
    const mark = facts.mark(KEY)
    facts.evict(KEY)
    expect(facts.settle(KEY, allowDecision(clock.now(), null), mark)).toEqual({
      store: false,
      decision: undefined,
    })
  })

  it('answers the overtaking event for a grant, and a deny as is, without storing either', () => {
    const { clock, facts } = setup()
    clock.advance(10_000)
    let mark = facts.mark(KEY)
    facts.event(KEY, rejectAt(clock.now()))
    expect(facts.settle(KEY, allowDecision(clock.now(), null), mark)).toMatchObject({
      store: false,
      decision: { allowed: false, origin: 'event' },
    })
    clock.advance(10)
    mark = facts.mark(KEY)
    facts.event(KEY, acceptAt(clock.now()))
    const deny = denyDecision(clock.now())
    expect(facts.settle(KEY, deny, mark)).toEqual({ store: false, decision: deny })
  })

  it('never lets a late deny be replaced by the allow Kaleyra gave meanwhile', () => {
    const { clock, facts } = setup()
    clock.advance(10_000)
    const mark = facts.mark(KEY)
    facts.event(KEY, rejectAt(clock.now() - 5000))
    expect(facts.settle(KEY, allowDecision(clock.now(), null), mark)).toMatchObject({
      store: false,
      decision: { allowed: false },
    })
  })

  it('uses a shared decision only when it is at least as new as every fact held', () => {
    const { clock, facts } = setup({ negativeTtlMs: 0 })
    clock.advance(10_000)
    facts.event(KEY, rejectAt(clock.now()))
    const mark = facts.mark(KEY)
    expect(facts.usable(KEY, allowDecision(clock.now() - 1, null), mark)).toBe(false)
    expect(facts.usable(KEY, allowDecision(clock.now(), null), mark)).toBe(false)
    expect(facts.usable(KEY, denyDecision(clock.now()), mark)).toBe(true)
    expect(facts.usable(KEY, allowDecision(clock.now() + 1, null), mark)).toBe(true)
    facts.evict(KEY)
    expect(facts.usable(KEY, allowDecision(clock.now() + 1, null), mark)).toBe(false)
  })

  it('holds a reject for the deny TTL against newer grants, whatever pressure the other memories are under', () => {
    const { clock, facts } = setup({ maxEntries: 1, negativeTtlMs: 30_000 })
    clock.advance(10_000)
    facts.event(KEY, rejectAt(clock.now() - 1000))
    facts.settle('other|pair', denyDecision(clock.now()), facts.mark('other|pair'))
    clock.advance(1000)
    const grant = allowDecision(clock.now(), null)
    expect(facts.settle(KEY, grant, facts.mark(KEY))).toMatchObject({
      store: false,
      decision: { allowed: false },
    })
    expect(facts.usable(KEY, grant, facts.mark(KEY))).toBe(false)
    clock.advance(29_000)
    expect(facts.settle(KEY, allowDecision(clock.now(), null), facts.mark(KEY)).store).toBe(true)
  })

  it('lets a newer accept end a held reject', () => {
    const { clock, facts } = setup({ negativeTtlMs: 30_000 })
    clock.advance(10_000)
    facts.event(KEY, rejectAt(clock.now() - 1000))
    expect(facts.event(KEY, acceptAt(clock.now()))).toBe('applied')
    expect(facts.usable(KEY, acceptAt(clock.now()), facts.mark(KEY))).toBe(true)
  })
})

describe('pair facts: many pairs', () => {
  const pair = (i: number) => `+918000000001|+91${9_000_000_000 + i}`

  it('holds every pair as the memory grows, and forgets the least recently used one at its bound', () => {
    const n = 3000
    const { clock, facts, forgotten } = setup({ maxEntries: n })
    clock.advance(10_000)
    for (let i = 0; i < n; i++) facts.settle(pair(i), denyDecision(clock.now()), facts.mark(pair(i)))
    // Every deny is held: an accept dated at it is outdated. Asking in order leaves pair 0 least recently used.
    for (let i = 0; i < n; i++) expect(facts.judge(pair(i), acceptAt(clock.now()))).toBe('outdated')
    facts.settle(pair(n), denyDecision(clock.now()), facts.mark(pair(n)))
    expect(forgotten()).toBe(1)
    // Forgotten: an accept at the drop is taken as proven (the memory is complete only from then on).
    expect(facts.judge(pair(0), acceptAt(clock.now()))).toBe('applied')
    expect(facts.judge(pair(1), acceptAt(clock.now()))).toBe('outdated')
    expect(facts.judge(pair(n), acceptAt(clock.now()))).toBe('outdated')
  })
})
