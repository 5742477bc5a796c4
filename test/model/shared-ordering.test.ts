import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKaleyraSimulator, type KaleyraSimulator } from '../../src/simulator/simulator.js'
import { REDIS_URL, freePort, ownRedis } from '../helpers/redis.js'
import { recordSpec } from './commands.js'
import { PAIRS } from './model.js'
import {
  SharedCommand,
  SharedDriver,
  emptySharedStats,
  sharedRecordOps,
  type SharedStats,
} from './shared-driver.js'

/**
 * docs/consent-ordering.md, "The fleet (shared mode)": the model test (ordering.test.ts) against two real gates
 * on one Redis, with Redis stopped (its keys lost) and gate B's subscription frozen. See shared-driver.ts for what
 * is judged exactly (a healthy fleet, as one gate) and what only weakly (after a fault). Skipped without
 * REDIS_URL like the other shared tests (the test's Redis is a redis-server of its own, on a free port).
 * MODEL_SEED, MODEL_SHARED_RUNS (or MODEL_RUNS), MODEL_PATH, MODEL_SHARED_MAX_COMMANDS, MODEL_STATS as in
 * ordering.test.ts.
 */
const RUNS = Number(process.env.MODEL_SHARED_RUNS ?? process.env.MODEL_RUNS ?? 20)
const SEED = Number(process.env.MODEL_SEED ?? 20_261_125)
const PATH = process.env.MODEL_PATH
const MAX_COMMANDS = Number(process.env.MODEL_SHARED_MAX_COMMANDS ?? 25)

describe.skipIf(!REDIS_URL)('consent ordering across a fleet (shared mode), model-based', () => {
  let sim: KaleyraSimulator
  let port: number
  let redis: { url: string; stop(): Promise<void> }
  beforeAll(async () => {
    sim = createKaleyraSimulator()
    await sim.listen(0)
    port = await freePort()
    redis = await ownRedis(port)
  })
  afterAll(async () => {
    await sim?.close()
    await redis?.stop()
  })

  it(
    'answers allowed:true only from the newest valid fact, on either gate, through Redis faults',
    async () => {
      const total = emptySharedStats()
      const started = performance.now()
      const property = fc.asyncProperty(
        fc.array(recordSpec, { minLength: PAIRS, maxLength: PAIRS }),
        fc.commands(
          sharedRecordOps(recordSpec).map((a) => a.map((op) => new SharedCommand(op))),
          { maxCommands: MAX_COMMANDS, size: 'max' },
        ),
        async (initial, cmds) => {
          const d = await SharedDriver.start(sim, redis, port, initial)
          try {
            await fc.asyncModelRun(() => ({ model: d, real: d }), cmds)
          } finally {
            redis = await d.stop()
            addStats(total, d.stats)
          }
        },
      )
      const details = await fc.check(property, {
        numRuns: RUNS,
        seed: SEED,
        path: PATH,
        endOnFailure: process.env.MODEL_NO_SHRINK === '1',
      })
      if (process.env.MODEL_STATS) {
        const s = total
        console.log(
          `[model shared] ${details.failed ? `FAILED (shrunk ${details.numShrinks} times)` : 'passed'}; ` +
            `${details.numRuns} runs (+${s.runs - details.numRuns} while shrinking), ${s.commands} commands, ` +
            `${s.checks} checks (${s.exactAllows} allows judged exactly, ${s.weakAllows} weakly, ` +
            `${s.doorAllows} from the front door; ` +
            `${s.unavailable} 503), ${s.faults} faults, ${((performance.now() - started) / 1000).toFixed(1)} s, ` +
            `seed ${SEED}`,
        )
      }
      if (details.failed) {
        const cause = details.errorInstance instanceof Error ? details.errorInstance.message : ''
        throw new Error(`${await fc.asyncDefaultReportMessage(details)}\n\nGot error: ${cause}`)
      }
      // The front door answers most cached yes-es: the model must judge some of them.
      expect(total.doorAllows).toBeGreaterThan(0)
    },
    Math.max(120_000, RUNS * 5_000),
  )
})

function addStats(into: SharedStats, from: SharedStats): void {
  for (const key of Object.keys(into) as (keyof SharedStats)[]) into[key] += from[key]
}
