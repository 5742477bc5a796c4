import { describe, expect, it } from 'vitest'
import { SimulatorConfigError, demoGateEnv, loadSimulatorOptions } from '../../../src/simulator/options.js'

const sim = { sid: 'HXSIM1', apiKey: 'sim-key', url: 'http://127.0.0.1:4000' }

describe('loadSimulatorOptions', () => {
  it('takes the default port (0 for the demo, 8081 standalone) when SIMULATOR_PORT is unset or empty', () => {
    expect(loadSimulatorOptions({}, 0).port).toBe(0)
    expect(loadSimulatorOptions({ SIMULATOR_PORT: ' ' }, 8081).port).toBe(8081)
  })

  it('reads SIMULATOR_PORT as a trimmed integer, and the host and seed with their defaults', () => {
    expect(loadSimulatorOptions({ SIMULATOR_PORT: ' 8081 ' }, 0)).toEqual({
      host: '127.0.0.1',
      port: 8081,
      seed: 'demo',
    })
    expect(loadSimulatorOptions({ SIMULATOR_HOST: '0.0.0.0', SIMULATOR_SEED: 'empty' }, 0)).toMatchObject({
      host: '0.0.0.0',
      seed: 'empty',
    })
  })

  it.each(['-1', '65536', '80.5', 'abc'])('rejects SIMULATOR_PORT=%s naming the variable', (raw) => {
    expect(() => loadSimulatorOptions({ SIMULATOR_PORT: raw }, 0)).toThrow(SimulatorConfigError)
    expect(() => loadSimulatorOptions({ SIMULATOR_PORT: raw }, 0)).toThrow(/^SIMULATOR_PORT is invalid/)
  })

  it('rejects an unknown SIMULATOR_SEED naming the variable', () => {
    expect(() => loadSimulatorOptions({ SIMULATOR_SEED: 'all' }, 0)).toThrow(
      /^SIMULATOR_SEED is invalid: must be one of demo, empty/,
    )
  })
})

describe('demoGateEnv', () => {
  it("logs at 'warn' unless LOG_LEVEL is set", () => {
    expect(demoGateEnv({}, sim).LOG_LEVEL).toBe('warn')
    expect(demoGateEnv({ LOG_LEVEL: 'debug' }, sim).LOG_LEVEL).toBe('debug')
  })

  it("points the gate at the simulator whatever the caller's Kaleyra settings", () => {
    const env = demoGateEnv(
      { KALEYRA_SID: 'REAL', KALEYRA_BASE_URL: 'https://api.kaleyra.io', PORT: '9000' },
      sim,
    )
    expect(env).toMatchObject({
      KALEYRA_SID: 'HXSIM1',
      KALEYRA_API_KEY: 'sim-key',
      KALEYRA_BASE_URL: sim.url,
    })
    expect(env.PORT).toBe('9000')
  })
})
