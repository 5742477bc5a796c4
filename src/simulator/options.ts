import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { KaleyraSimulator } from './simulator.js'

/**
 * The simulator's own variables, read by the standalone simulator (`npm run simulator`, the compose service) and by
 * `npm run demo`, which starts one in-process. Kept out of the gate's config: the service must not accept a setting
 * it would ignore.
 */
const SimulatorEnvSchema = Type.Object({
  SIMULATOR_HOST: Type.String({
    minLength: 1,
    default: '127.0.0.1',
    description: 'Listen address of the simulator',
  }),
  SIMULATOR_PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    description: 'Port of the simulator (0: any free port)',
  }),
  SIMULATOR_SEED: Type.Union([Type.Literal('demo'), Type.Literal('empty')], {
    default: 'demo',
    description: 'Records it starts with: one per reason (demo), or none',
  }),
})

export interface SimulatorOptions {
  host: string
  port: number
  seed: 'demo' | 'empty'
}

/** A simulator variable that cannot be read; the message names it and never echoes a secret. */
export class SimulatorConfigError extends Error {
  constructor(
    readonly variable: string,
    why: string,
  ) {
    super(`${variable} ${why}`)
    this.name = 'SimulatorConfigError'
  }
}

const checkEnv = Compile(SimulatorEnvSchema)
const NAMES = ['SIMULATOR_HOST', 'SIMULATOR_PORT', 'SIMULATOR_SEED'] as const

/**
 * Reads the simulator's variables like the gate's config: trimmed, empty means unset, a bad one names itself.
 * `defaultPort`: 8081 for the standalone simulator, 0 (any free port) for the demo.
 */
export function loadSimulatorOptions(
  env: Record<string, string | undefined>,
  defaultPort: number,
): SimulatorOptions {
  const raw: Record<string, unknown> = { SIMULATOR_PORT: defaultPort }
  for (const name of NAMES) {
    const value = env[name]?.trim() ?? ''
    if (value !== '') raw[name] = name === 'SIMULATOR_PORT' && /^\d+$/.test(value) ? Number(value) : value
  }
  const value = checkEnv.Default(raw)
  const first = checkEnv.Errors(value)[0]
  if (first) {
    const variable = first.instancePath.replace(/^\//, '')
    const schema = SimulatorEnvSchema.properties[variable as (typeof NAMES)[number]] as {
      description?: string
      anyOf?: { const: string }[]
    }
    const why = schema.anyOf ? `must be one of ${schema.anyOf.map((s) => s.const).join(', ')}` : first.message
    throw new SimulatorConfigError(variable, `is invalid: ${why} (${schema.description ?? ''})`)
  }
  const ok = value as { SIMULATOR_HOST: string; SIMULATOR_PORT: number; SIMULATOR_SEED: 'demo' | 'empty' }
  return { host: ok.SIMULATOR_HOST, port: ok.SIMULATOR_PORT, seed: ok.SIMULATOR_SEED }
}

/** The upstream the demo points the gate at: `UPSTREAM`, trimmed, or 'kaleyra' when unset or empty. */
export const demoUpstream = (env: Record<string, string | undefined>): string =>
  env.UPSTREAM?.trim() || 'kaleyra'

/**
 * The environment loadConfig gets in the demo: the caller's own, pointed at the simulator. LOG_LEVEL defaults
 * to 'warn' rather than 'info' so request logs do not bury the curl lines the demo prints. With UPSTREAM=meta the
 * gate asks the simulator's Graph API and discovers the numbers from its WABA, so a META_PHONE_NUMBERS of the
 * caller's (real ids) is dropped; the Kaleyra variables are set either way, harmless when unused. Any other
 * UPSTREAM is left for loadConfig to refuse.
 */
export function demoGateEnv(
  env: Record<string, string | undefined>,
  sim: Pick<KaleyraSimulator, 'sid' | 'apiKey' | 'url' | 'metaAccessToken' | 'wabaId'>,
): Record<string, string | undefined> {
  const kaleyra = {
    LOG_LEVEL: 'warn',
    ...env,
    KALEYRA_SID: sim.sid,
    KALEYRA_API_KEY: sim.apiKey,
    KALEYRA_BASE_URL: sim.url,
  }
  if (demoUpstream(env) !== 'meta') return kaleyra
  return {
    ...kaleyra,
    UPSTREAM: 'meta',
    META_ACCESS_TOKEN: sim.metaAccessToken,
    META_GRAPH_BASE_URL: sim.url,
    META_WABA_ID: sim.wabaId,
    META_PHONE_NUMBERS: undefined,
  }
}
