import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'

/**
 * Long or replayed runs of the model-based ordering test (test/model/):
 *
 *   npm run test:model -- --runs 2000              a fresh random seed, printed first
 *   npm run test:model -- --runs 200 --seed 42     the same runs again
 *   npm run test:model -- --seed 42 --path "7:1:0" --replay-path "DGg:F" -- -t "tiny memory"
 *
 * --runs is split across the variants; --path and --replay-path come from a failure report (replay its variant
 * alone with vitest's -t). Arguments after a second -- go to vitest. From the environment: MODEL_NO_SHRINK=1
 * reports the first failure unshrunk; MODEL_REFUSED_GRANTS=ignore judges a Kaleyra grant refused while a reject
 * holds as no fact, as the gate does today (test/model/facts.ts, KeptOptions).
 */
const { values, positionals } = parseArgs({
  options: {
    runs: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    'replay-path': { type: 'string' },
    'max-commands': { type: 'string' },
  },
  allowPositionals: true,
})
const seed = String(values.seed ?? Math.floor(Math.random() * 2 ** 31))
const env: NodeJS.ProcessEnv = { ...process.env, MODEL_SEED: seed, MODEL_STATS: '1' }
const pass = {
  runs: 'MODEL_RUNS',
  path: 'MODEL_PATH',
  'replay-path': 'MODEL_REPLAY_PATH',
  'max-commands': 'MODEL_MAX_COMMANDS',
}
for (const [option, variable] of Object.entries(pass)) {
  const value = values[option as keyof typeof values]
  if (value !== undefined) env[variable] = value
}
console.log(`model test: seed ${seed}${env.MODEL_RUNS ? `, ${env.MODEL_RUNS} runs` : ''}`)
const vitest = spawn(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', 'test/model', ...positionals],
  {
    env,
    stdio: 'inherit',
  },
)
vitest.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
