import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { ConfigError } from './config/load.js'
import type { KaleyraSimulator } from './kaleyra/simulator.js'

const PORT_DESCRIPTION = "Port of the demo's Kaleyra simulator (0: any free port)"

/**
 * The demo's own variable, kept out of src/config/load.ts: only `npm run demo` starts a simulator, and the
 * service should not accept a setting it would ignore.
 */
const DemoEnvSchema = Type.Object({
  SIMULATOR_PORT: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 65535,
    description: PORT_DESCRIPTION,
  }),
})

export interface DemoOptions {
  simulatorPort: number
}

const checkDemoEnv = Compile(DemoEnvSchema)

/** Reads the demo's variables like loadConfig does: trimmed, empty means unset, a bad one names itself. */
export function loadDemoOptions(env: Record<string, string | undefined>): DemoOptions {
  const raw = env.SIMULATOR_PORT?.trim() ?? ''
  const value = checkDemoEnv.Default(
    raw === '' ? {} : { SIMULATOR_PORT: /^\d+$/.test(raw) ? Number(raw) : raw },
  )
  if (!checkDemoEnv.Check(value)) {
    throw new ConfigError(
      'SIMULATOR_PORT',
      `is invalid: must be an integer from 0 to 65535 (${PORT_DESCRIPTION})`,
    )
  }
  return { simulatorPort: value.SIMULATOR_PORT }
}

/**
 * The environment loadConfig gets in the demo: the caller's own, pointed at the simulator. LOG_LEVEL defaults
 * to 'warn' rather than 'info' so request logs do not bury the curl lines the demo prints.
 */
export function demoGateEnv(
  env: Record<string, string | undefined>,
  sim: Pick<KaleyraSimulator, 'sid' | 'apiKey' | 'url'>,
): Record<string, string | undefined> {
  return {
    LOG_LEVEL: 'warn',
    ...env,
    KALEYRA_SID: sim.sid,
    KALEYRA_API_KEY: sim.apiKey,
    KALEYRA_BASE_URL: sim.url,
  }
}
