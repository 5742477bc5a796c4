import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/load.js'
import { demoGateEnv, loadDemoOptions } from '../../src/demo-options.js'

const sim = { sid: 'HXSIM1', apiKey: 'sim-key', url: 'http://127.0.0.1:4000' }

describe('loadDemoOptions', () => {
  it('puts the simulator on any free port when SIMULATOR_PORT is unset or empty', () => {
    expect(loadDemoOptions({}).simulatorPort).toBe(0)
    expect(loadDemoOptions({ SIMULATOR_PORT: ' ' }).simulatorPort).toBe(0)
  })

  it('reads SIMULATOR_PORT as a trimmed integer', () => {
    expect(loadDemoOptions({ SIMULATOR_PORT: ' 8081 ' }).simulatorPort).toBe(8081)
  })

  it.each(['-1', '65536', '80.5', 'abc'])('rejects SIMULATOR_PORT=%s naming the variable', (raw) => {
    expect(() => loadDemoOptions({ SIMULATOR_PORT: raw })).toThrow(ConfigError)
    expect(() => loadDemoOptions({ SIMULATOR_PORT: raw })).toThrow(/^SIMULATOR_PORT is invalid/)
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
