import fc from 'fast-check'
import type { Driver } from './driver.js'
import type { Variant } from './setup.js'
import { PAIRS } from './model.js'
import { describeOp, type Op, type RecordSpec } from './ops.js'

const DAY_S = 86_400

/** Pairs collide on purpose: b1u1, b1u2 (same business) and b2u1 (same user) come up most. */
const anyPair = fc.nat({ max: PAIRS - 1 })
const pairArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.constant(1) },
  { weight: 2, arbitrary: fc.constant(3) },
  { weight: 3, arbitrary: anyPair },
)

/** Reply ages: now or ahead, inside the trust window, older, and around Meta's 7-day horizon (up to 9 days). */
const ageS = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -120, max: 0 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 2, arbitrary: fc.integer({ min: 60, max: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 400, max: 7 * DAY_S - 600 }) },
  { weight: 2, arbitrary: fc.integer({ min: 7 * DAY_S - 600, max: 9 * DAY_S }) },
)

const check = (pair: fc.Arbitrary<number>) =>
  fc.record({
    op: fc.constant('check' as const),
    pair,
    fresh: fc.oneof(
      { weight: 3, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
  })

const reply = (pair: fc.Arbitrary<number>) =>
  fc.record({
    op: fc.constant('reply' as const),
    pair,
    surface: fc.constantFrom('kaleyra' as const, 'meta' as const),
    response: fc.constantFrom('accept' as const, 'accept' as const, 'reject' as const),
    permanent: fc.boolean(),
    expiresInS: fc.integer({ min: 60, max: 3 * DAY_S }),
    ageS,
    copies: fc.constantFrom(1 as const, 1 as const, 2 as const),
  })

const outcome = (pair: fc.Arbitrary<number>) =>
  fc
    .record({
      pair,
      outcome: fc.constantFrom(
        'answered' as const,
        'unanswered' as const,
        'rejected' as const,
        'failed' as const,
      ),
      errorCode: fc.constantFrom(undefined, 138006 as const, 138012 as const),
      withId: fc.boolean(),
    })
    .map(({ errorCode, ...o }): Op => ({
      op: 'outcome',
      ...o,
      ...(o.outcome === 'failed' && errorCode !== undefined && { errorCode }),
    }))

const evict = (pair: fc.Arbitrary<number>) =>
  fc.record({
    op: fc.constant('evict' as const),
    scope: fc.constantFrom('pair' as const, 'pair' as const, 'business' as const, 'all' as const),
    pair,
  })

/** Mostly grants, so that many answers are allows the model has to judge. */
export const recordSpec: fc.Arbitrary<RecordSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'permanent' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('temporary' as const),
      expiresInS: fc.oneof(
        { weight: 1, arbitrary: fc.integer({ min: -600, max: 600 }) },
        { weight: 3, arbitrary: fc.integer({ min: 600, max: 3 * DAY_S }) },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'none' as const }, { kind: 'reject' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('limited' as const),
      expiresInS: fc.integer({ min: 60, max: DAY_S }),
    }),
  },
)
const kaleyra = (pair: fc.Arbitrary<number>) =>
  fc.record({ op: fc.constant('kaleyra' as const), pair, record: recordSpec })

/** Clock moves: within a deny's TTL, across the TTLs and the trust window, and across days. */
const advance = (big: boolean) =>
  fc.record({
    op: fc.constant('advance' as const),
    ms: fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
      { weight: 2, arbitrary: fc.constantFrom(1_000, 30_000, 60_000, 300_000, 301_000) },
      { weight: 3, arbitrary: fc.integer({ min: 5_000, max: 600_000 }) },
      { weight: big ? 1 : 0, arbitrary: fc.integer({ min: 3_600_000, max: 8 * DAY_S * 1000 }) },
    ),
  })

/** 2 to 5 requests around one focus pair, always with a check whose Kaleyra answer can be held. */
const batch: fc.Arbitrary<Op> = pairArb.chain((focus) => {
  const pair = fc.oneof({ weight: 3, arbitrary: fc.constant(focus) }, { weight: 1, arbitrary: anyPair })
  const sub = fc.oneof(
    { weight: 4, arbitrary: check(pair) },
    { weight: 3, arbitrary: reply(pair) },
    { weight: 2, arbitrary: outcome(pair) },
    { weight: 1, arbitrary: evict(pair) },
    { weight: 2, arbitrary: kaleyra(pair) },
    { weight: 1, arbitrary: advance(false) },
  )
  return fc
    .tuple(check(fc.constant(focus)), fc.array(sub, { minLength: 1, maxLength: 4 }))
    .map(([first, rest]): Op => ({ op: 'batch', ops: [first, ...rest] }))
})

class OpCommand implements fc.AsyncCommand<Driver, Driver> {
  constructor(readonly op: Op) {}
  check = () => true
  run = (_m: Driver, d: Driver) => d.run(this.op)
  toString = () => describeOp(this.op)
}

/** Weights by repetition: fc.commands picks among the arbitraries uniformly. */
export function commandsFor(variant: Variant, maxCommands: number, replayPath?: string) {
  const arbs: fc.Arbitrary<Op>[] = [
    check(pairArb),
    check(pairArb),
    check(pairArb),
    check(pairArb),
    reply(pairArb),
    reply(pairArb),
    reply(pairArb),
    fc.record({
      op: fc.constant('replay' as const),
      pick: fc.nat(),
      surface: fc.constantFrom('kaleyra' as const, 'meta' as const),
    }),
    outcome(pairArb),
    outcome(pairArb),
    fc.record({ op: fc.constant('reoutcome' as const), pick: fc.nat() }),
    evict(pairArb),
    kaleyra(pairArb),
    kaleyra(pairArb),
    advance(true),
    advance(true),
    batch,
    batch,
    ...(variant.restarts ? [fc.constant({ op: 'restart' as const })] : []),
  ]
  return fc.commands(
    arbs.map((a) => a.map((op) => new OpCommand(op))),
    { maxCommands, size: 'max', replayPath },
  )
}
