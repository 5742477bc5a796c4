import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKaleyraSimulator, type KaleyraSimulator } from '../../src/simulator/simulator.js'
import { commandsFor, recordSpec } from './commands.js'
import { Driver } from './driver.js'
import { emptyStats, type Stats, type Variant } from './setup.js'
import { PAIRS } from './model.js'
import type { Op, RecordSpec } from './ops.js'

/**
 * docs/consent-ordering.md, tried against real gates: fast-check command sequences of Kaleyra changes, checks,
 * webhook replies (late, duplicated, replayed, on both surfaces), call outcomes, evictions, clock moves, restarts
 * and requests run together (fc.scheduler), every allow judged by the reference model (model.ts). Long runs and
 * replays: `npm run test:model -- --runs 2000` (see scripts/test-model.ts).
 */
const TOTAL_RUNS = Number(process.env.MODEL_RUNS ?? 200)
const SEED = Number(process.env.MODEL_SEED ?? 20_261_125)
const PATH = process.env.MODEL_PATH
const REPLAY_PATH = process.env.MODEL_REPLAY_PATH
const MAX_COMMANDS = Number(process.env.MODEL_MAX_COMMANDS ?? 30)

/** CACHE_MAX_ENTRIES only makes each start cheaper (lru-cache sizes its arrays by it): 6 pairs never reach it. */
const DEFAULTS: Variant = {
  name: 'defaults, with restarts',
  env: { CACHE_MAX_ENTRIES: '1000' },
  restarts: true,
  share: 0.4,
}
const TINY: Variant = {
  name: 'tiny memory: CACHE_MAX_ENTRIES=2, UNANSWERED_STREAK_LIMIT=2',
  env: { CACHE_MAX_ENTRIES: '2', UNANSWERED_STREAK_LIMIT: '2' },
  restarts: true,
  share: 0.3,
}
/** No restarts and no bound: the gate never loses evidence, so the trust window never excuses an allow. */
const NO_DENY_CACHE: Variant = {
  name: 'denies never cached: CACHE_NEGATIVE_TTL_SECONDS=0, no restarts',
  env: { CACHE_NEGATIVE_TTL_SECONDS: '0', CACHE_MAX_TTL_SECONDS: '60' },
  restarts: false,
  share: 0.3,
}

let sim: KaleyraSimulator
beforeAll(async () => {
  sim = createKaleyraSimulator()
  await sim.listen(0)
})
afterAll(async () => sim.close())

describe('consent ordering (docs/consent-ordering.md), model-based', () => {
  for (const variant of [DEFAULTS, TINY, NO_DENY_CACHE]) {
    const numRuns = Math.max(1, Math.round(TOTAL_RUNS * variant.share))
    it(
      `answers allowed:true only from the newest valid fact: ${variant.name}`,
      async () => {
        const total = emptyStats()
        const started = performance.now()
        const property = fc.asyncProperty(
          fc.scheduler(),
          fc.array(recordSpec, { minLength: PAIRS, maxLength: PAIRS }),
          commandsFor(variant, MAX_COMMANDS, REPLAY_PATH),
          async (scheduler, initial, cmds) => {
            const d = await Driver.start(sim, variant, { scheduler, initial })
            try {
              await fc.asyncModelRun(() => ({ model: d, real: d }), cmds)
            } finally {
              await d.stop()
              addStats(total, d.stats)
            }
          },
        )
        const details = await fc.check(property, {
          numRuns,
          seed: SEED,
          path: PATH,
          // MODEL_NO_SHRINK=1: report the first failure as found (shrinking restarts a gate per attempt).
          endOnFailure: process.env.MODEL_NO_SHRINK === '1',
        })
        if (process.env.MODEL_STATS) report(variant, total, details, performance.now() - started)
        if (details.failed) {
          const cause = details.errorInstance instanceof Error ? details.errorInstance.message : ''
          throw new Error(`${await fc.asyncDefaultReportMessage(details)}\n\nGot error: ${cause}`)
        }
        // Most yes-es come from the front door in production: the model must judge some of them (it would not at
        // LOG_LEVEL=debug, where the door stands aside).
        expect(total.doorAllows).toBeGreaterThan(0)
      },
      Math.max(120_000, numRuns * 2_000),
    )
  }
})

const NONE: RecordSpec = { kind: 'none' }
const REJECT: RecordSpec = { kind: 'reject' }
const b1u1 = 0
const accept = (ageS: number, surface: 'kaleyra' | 'meta' = 'kaleyra'): Op => ({
  op: 'reply',
  pair: b1u1,
  surface,
  response: 'accept',
  permanent: true,
  expiresInS: 0,
  ageS,
  copies: 1,
})
const check: Op = { op: 'check', pair: b1u1, fresh: false }
const advance = (ms: number): Op => ({ op: 'advance', ms })

/** Each script ends with a fresh accept that must allow, so a gate that never allows cannot pass. */
describe('the wrong yes-es of issue 11, judged by the same model', () => {
  it.each<[string, Variant, RecordSpec, Op[]]>([
    [
      'an accept older than a 138006 outcome does not grant',
      DEFAULTS,
      REJECT,
      [
        check,
        { op: 'outcome', pair: b1u1, outcome: 'failed', errorCode: 138006, withId: false },
        accept(60),
        check,
      ],
    ],
    [
      'an accept dated before Kaleyra last said no does not grant, with denies never cached',
      NO_DENY_CACHE,
      REJECT,
      [advance(10_000), check, accept(5), check],
    ],
    ['a signed reply dated 8 days ago does not grant', DEFAULTS, NONE, [accept(8 * 86_400, 'meta'), check]],
  ])('%s', async (_name, variant, record, ops) => {
    const d = await Driver.start(sim, variant, { initial: [record] })
    try {
      for (const o of ops) await d.run(o)
      expect(d.last).toMatchObject({ allowed: false })
      for (const o of [advance(1000), accept(0, 'meta'), check]) await d.run(o)
      expect(d.last).toMatchObject({ allowed: true, source: 'event' })
    } finally {
      await d.stop()
    }
  })
})

function addStats(into: Stats, from: Stats): void {
  for (const key of Object.keys(into) as (keyof Stats)[]) into[key] += from[key]
}

function report(
  variant: Variant,
  s: Stats,
  details: { failed: boolean; numRuns: number; numShrinks: number },
  ms: number,
): void {
  const failed = details.failed ? `FAILED (shrunk ${details.numShrinks} times)` : 'passed'
  console.log(
    `[model] ${variant.name}: ${failed}; ${details.numRuns} runs (+${s.runs - details.numRuns} while ` +
      `shrinking), ${s.commands} commands, ${s.checks} checks (${s.allows} allows judged, ${s.eventAllows} ` +
      `of them from replies, ${s.doorAllows} from the front door; ${s.unavailable} 503), ` +
      `${s.kaleyraAnswers} Kaleyra answers (${s.heldAnswers} held), ${s.batches} batches, ${s.restarts} restarts, ${s.settleTimeouts} settle timeouts, ` +
      `${(ms / 1000).toFixed(1)} s, seed ${SEED}`,
  )
}
