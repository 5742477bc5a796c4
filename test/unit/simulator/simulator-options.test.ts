import { describe, expect, it } from 'vitest'
import {
  SimulatorConfigError,
  demoGateEnv,
  demoUpstream,
  loadSimulatorOptions,
} from '../../../src/simulator/options.js'

const sim = {
  sid: 'HXSIM1',
  apiKey: 'sim-key',
  url: 'http://127.0.0.1:4000',
  metaAccessToken: 'sim-meta-token-0123456789',
  wabaId: '100000000000001',
}

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

  it('leaves the Meta variables alone for Kaleyra, the default', () => {
    const env = demoGateEnv({ META_WABA_ID: '7' }, sim)
    expect(env.UPSTREAM).toBeUndefined()
    expect(env.META_WABA_ID).toBe('7')
    expect(env.META_ACCESS_TOKEN).toBeUndefined()
    expect(demoGateEnv({ UPSTREAM: 'kaleyra' }, sim).META_GRAPH_BASE_URL).toBeUndefined()
  })

  it("points the gate at the simulator's Graph API with UPSTREAM=meta, numbers discovered from its WABA", () => {
    const env = demoGateEnv(
      {
        UPSTREAM: ' meta ',
        META_ACCESS_TOKEN: 'real-token',
        META_PHONE_NUMBERS: '+15550001111=999',
        PORT: '9000',
      },
      sim,
    )
    expect(env).toMatchObject({
      UPSTREAM: 'meta',
      META_ACCESS_TOKEN: sim.metaAccessToken,
      META_GRAPH_BASE_URL: sim.url,
      META_WABA_ID: sim.wabaId,
      KALEYRA_SID: 'HXSIM1',
      KALEYRA_API_KEY: 'sim-key',
      KALEYRA_BASE_URL: sim.url,
      LOG_LEVEL: 'warn',
      PORT: '9000',
    })
    expect(env.META_PHONE_NUMBERS).toBeUndefined()
  })

  it('leaves any other UPSTREAM for the gate to refuse', () => {
    expect(demoGateEnv({ UPSTREAM: 'twilio' }, sim)).toMatchObject({ UPSTREAM: 'twilio' })
    expect(demoGateEnv({ UPSTREAM: 'twilio' }, sim).META_ACCESS_TOKEN).toBeUndefined()
  })
})

describe('demoUpstream', () => {
  it("is UPSTREAM trimmed, or 'kaleyra' when unset or empty", () => {
    expect(demoUpstream({})).toBe('kaleyra')
    expect(demoUpstream({ UPSTREAM: '  ' })).toBe('kaleyra')
    expect(demoUpstream({ UPSTREAM: ' meta' })).toBe('meta')
  })
})
