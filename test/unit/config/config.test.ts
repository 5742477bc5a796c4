import { describe, it, expect } from 'vitest'
import { ConfigError, loadConfig, type Config } from '../../../src/config/load.js'

const API_KEY = 'A7f3kQ9zXw2LmN8pR4tY6uV1bC5'
const REQUIRED = { KALEYRA_SID: 'HXAP16XXXXXX97IN', KALEYRA_API_KEY: API_KEY }

/** The ConfigError loadConfig throws for this environment; fails the test when it throws nothing. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`expected loadConfig to throw for ${JSON.stringify(Object.keys(env))}`)
}

describe('loadConfig', () => {
  describe('with only the required variables', () => {
    const config = loadConfig(REQUIRED)

    it.each<[string, (c: Config) => unknown, unknown]>([
      ['KALEYRA_REGION is in', (c) => c.kaleyra?.region, 'in'],
      ['the base URL is the IN pod', (c) => c.kaleyra?.baseUrl, 'https://api.in.kaleyra.io'],
      ['HOST is 127.0.0.1', (c) => c.host, '127.0.0.1'],
      ['PORT is 8080', (c) => c.port, 8080],
      ['LOG_LEVEL is info', (c) => c.logLevel, 'info'],
      ['CACHE_MAX_ENTRIES is 100000', (c) => c.cache.maxEntries, 100_000],
      ['CACHE_MAX_TTL_SECONDS is 300 (300000 ms)', (c) => c.cache.maxTtlMs, 300_000],
      ['CACHE_NEGATIVE_TTL_SECONDS is 30 (30000 ms)', (c) => c.cache.negativeTtlMs, 30_000],
      ['UPSTREAM_TIMEOUT_MS is 2000', (c) => c.upstream.timeoutMs, 2000],
    ])('defaults: %s', (_label, read, expected) => {
      expect(read(config)).toBe(expected)
    })

    it('passes the SID and the API key through', () => {
      expect(config.kaleyra?.sid).toBe('HXAP16XXXXXX97IN')
      expect(config.kaleyra?.apiKey).toBe(API_KEY)
    })
  })

  it.each([
    ['in', 'https://api.in.kaleyra.io'],
    ['sg', 'https://api.ap.kaleyra.io'],
    ['eu', 'https://api.eu.kaleyra.io'],
    ['na', 'https://api.na.kaleyra.io'],
  ])('sends KALEYRA_REGION=%s to %s', (region, baseUrl) => {
    const config = loadConfig({ ...REQUIRED, KALEYRA_REGION: region })
    expect(config.kaleyra?.region).toBe(region)
    expect(config.kaleyra?.baseUrl).toBe(baseUrl)
  })

  it.each([
    ['http://127.0.0.1:4010', 'http://127.0.0.1:4010'],
    ['http://127.0.0.1:4010/', 'http://127.0.0.1:4010'],
    ['https://proxy.example.com/kaleyra/', 'https://proxy.example.com/kaleyra'],
  ])('lets KALEYRA_BASE_URL=%s override the region host, without a trailing slash', (url, baseUrl) => {
    expect(loadConfig({ ...REQUIRED, KALEYRA_REGION: 'eu', KALEYRA_BASE_URL: url }).kaleyra?.baseUrl).toBe(
      baseUrl,
    )
  })

  it('reads numbers and converts seconds to milliseconds', () => {
    const config = loadConfig({
      ...REQUIRED,
      PORT: '9090',
      CACHE_MAX_ENTRIES: '500',
      CACHE_MAX_TTL_SECONDS: '60',
      CACHE_NEGATIVE_TTL_SECONDS: '0',
      UPSTREAM_TIMEOUT_MS: '750',
    })
    expect(config.port).toBe(9090)
    expect(config.cache).toEqual({ maxEntries: 500, maxTtlMs: 60_000, negativeTtlMs: 0, staleIfErrorMs: 0 })
    expect(config.upstream.timeoutMs).toBe(750)
  })

  it('ignores spaces around a value', () => {
    expect(loadConfig({ ...REQUIRED, PORT: ' 9090 ', LOG_LEVEL: ' debug ' })).toMatchObject({
      port: 9090,
      logLevel: 'debug',
    })
  })

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ...REQUIRED, PORT: '', LOG_LEVEL: '' })).toMatchObject({
      port: 8080,
      logLevel: 'info',
    })
  })

  describe('rejects a bad environment with a ConfigError naming the variable', () => {
    const { KALEYRA_SID: _sid, ...withoutSid } = REQUIRED
    const { KALEYRA_API_KEY: _key, ...withoutKey } = REQUIRED

    it.each<[string, Record<string, string | undefined>, string]>([
      ['a missing SID', withoutSid, 'KALEYRA_SID'],
      ['an empty SID', { ...REQUIRED, KALEYRA_SID: '' }, 'KALEYRA_SID'],
      ['a SID with a space', { ...REQUIRED, KALEYRA_SID: 'HX AP' }, 'KALEYRA_SID'],
      ['a missing API key', withoutKey, 'KALEYRA_API_KEY'],
      ['an API key of only spaces', { ...REQUIRED, KALEYRA_API_KEY: '   ' }, 'KALEYRA_API_KEY'],
      ['PORT=abc', { ...REQUIRED, PORT: 'abc' }, 'PORT'],
      ['PORT=70000', { ...REQUIRED, PORT: '70000' }, 'PORT'],
      ['PORT=-1', { ...REQUIRED, PORT: '-1' }, 'PORT'],
      ['CACHE_MAX_ENTRIES=0', { ...REQUIRED, CACHE_MAX_ENTRIES: '0' }, 'CACHE_MAX_ENTRIES'],
      ['CACHE_MAX_TTL_SECONDS=1e3', { ...REQUIRED, CACHE_MAX_TTL_SECONDS: '1e3' }, 'CACHE_MAX_TTL_SECONDS'],
      ['KALEYRA_REGION=us', { ...REQUIRED, KALEYRA_REGION: 'us' }, 'KALEYRA_REGION'],
      ['LOG_LEVEL=loud', { ...REQUIRED, LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
      ['KALEYRA_BASE_URL=ftp://x', { ...REQUIRED, KALEYRA_BASE_URL: 'ftp://x' }, 'KALEYRA_BASE_URL'],
      ['UPSTREAM_TIMEOUT_MS=1.5', { ...REQUIRED, UPSTREAM_TIMEOUT_MS: '1.5' }, 'UPSTREAM_TIMEOUT_MS'],
      ['UPSTREAM_TIMEOUT_MS=10', { ...REQUIRED, UPSTREAM_TIMEOUT_MS: '10' }, 'UPSTREAM_TIMEOUT_MS'],
    ])('%s', (_label, env, variable) => {
      const err = configError(env)
      expect(err.name).toBe('ConfigError')
      expect(err.variable).toBe(variable)
      expect(err.message.startsWith(`${variable} `)).toBe(true)
    })

    it('says which values a region may take', () => {
      expect(configError({ ...REQUIRED, KALEYRA_REGION: 'us' }).message).toMatch(/in, sg, eu, na/)
    })
  })

  describe('never echoes the API key', () => {
    it.each<[string, Record<string, string>]>([
      ['KALEYRA_SID', { KALEYRA_SID: 'not-a-sid!' }],
      ['PORT', { PORT: 'abc' }],
      ['CACHE_MAX_ENTRIES', { CACHE_MAX_ENTRIES: '0' }],
      ['KALEYRA_REGION', { KALEYRA_REGION: 'us' }],
      ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
      ['KALEYRA_BASE_URL', { KALEYRA_BASE_URL: 'ftp://x' }],
      ['UPSTREAM_TIMEOUT_MS', { UPSTREAM_TIMEOUT_MS: '1.5' }],
    ])('when %s is wrong and the key is present', (variable, bad) => {
      const err = configError({ ...REQUIRED, ...bad })
      expect(err.variable).toBe(variable)
      expect(err.message).not.toContain(API_KEY)
      expect(String(err)).not.toContain(API_KEY)
      expect(JSON.stringify(err)).not.toContain(API_KEY)
    })

    it('even when the key itself ended up in another variable', () => {
      const err = configError({ ...REQUIRED, KALEYRA_BASE_URL: `ftp://${API_KEY}`, LOG_LEVEL: API_KEY })
      expect(err.message).not.toContain(API_KEY)
    })
  })
})

describe('loadConfig: upstream resilience and batching', () => {
  const base = { KALEYRA_SID: 'HX1', KALEYRA_API_KEY: 'key' }

  it('derives CHECK_DEADLINE_MS from UPSTREAM_TIMEOUT_MS unless set', () => {
    expect(loadConfig({ ...base, UPSTREAM_TIMEOUT_MS: '700' }).upstream.deadlineMs).toBe(1400)
    expect(loadConfig({ ...base, CHECK_DEADLINE_MS: '900' }).upstream.deadlineMs).toBe(900)
  })

  it('has the documented defaults', () => {
    const c = loadConfig(base)
    expect(c.upstream).toMatchObject({ retries: 2, maxInflight: 16, maxRps: 50, maxQueue: 100 })
    expect(c.upstream.breaker).toEqual({ failureThreshold: 5, openMs: 5000 })
    expect(c.batch).toEqual({ windowMs: 2, maxWaitMs: 15, maxUsers: 25 })
    expect(c.cache.staleIfErrorMs).toBe(0)
  })

  it.each([
    'UPSTREAM_RETRIES=9',
    'BATCH_MAX_USERS=0',
    'BATCH_MAX_USERS=101',
    'BATCH_MAX_WAIT_MS=0',
    'BATCH_MAX_WAIT_MS=1001',
    'UPSTREAM_MAX_INFLIGHT=0',
    'CHECK_DEADLINE_MS=10',
  ])('rejects %s naming the variable', (pair) => {
    const [name, value] = pair.split('=') as [string, string]
    expect(() => loadConfig({ ...base, [name]: value })).toThrow(name)
  })

  it('takes a maximum wait equal to the window (a fixed window), never one below it', () => {
    expect(loadConfig({ ...base, BATCH_WINDOW_MS: '5', BATCH_MAX_WAIT_MS: '5' }).batch.maxWaitMs).toBe(5)
    expect(() => loadConfig({ ...base, BATCH_WINDOW_MS: '20' })).toThrow(
      'BATCH_MAX_WAIT_MS must be at least BATCH_WINDOW_MS',
    )
  })
})

describe('loadConfig: live checks first, one budget per fleet', () => {
  const base = { KALEYRA_SID: 'HX1', KALEYRA_API_KEY: 'key' }
  const redis = { REDIS_URL: 'redis://127.0.0.1:6379' }

  it('leaves bulk half the budget and the fleet budget off by default', () => {
    expect(loadConfig(base).upstream).toMatchObject({ bulkShare: 0.5, fleetMaxRps: 0 })
  })

  it('reads a share up to 1 and a fleet rate with REDIS_URL', () => {
    const c = loadConfig({ ...base, ...redis, UPSTREAM_BULK_SHARE: '0.25', UPSTREAM_FLEET_MAX_RPS: '120' })
    expect(c.upstream).toMatchObject({ bulkShare: 0.25, fleetMaxRps: 120 })
    expect(loadConfig({ ...base, UPSTREAM_BULK_SHARE: '1' }).upstream.bulkShare).toBe(1)
  })

  it.each([
    ['UPSTREAM_BULK_SHARE=0', { UPSTREAM_BULK_SHARE: '0' }, /UPSTREAM_BULK_SHARE is invalid: .*0/],
    ['UPSTREAM_BULK_SHARE=1.5', { UPSTREAM_BULK_SHARE: '1.5' }, /UPSTREAM_BULK_SHARE is invalid: .*1/],
    ['UPSTREAM_BULK_SHARE=half', { UPSTREAM_BULK_SHARE: 'half' }, /UPSTREAM_BULK_SHARE is invalid/],
    [
      'UPSTREAM_FLEET_MAX_RPS=2.5',
      { ...redis, UPSTREAM_FLEET_MAX_RPS: '2.5' },
      /UPSTREAM_FLEET_MAX_RPS is invalid/,
    ],
    [
      'UPSTREAM_FLEET_MAX_RPS=-1',
      { ...redis, UPSTREAM_FLEET_MAX_RPS: '-1' },
      /UPSTREAM_FLEET_MAX_RPS is invalid/,
    ],
    ['UPSTREAM_FLEET_MAX_RPS without REDIS_URL', { UPSTREAM_FLEET_MAX_RPS: '100' }, /needs REDIS_URL/],
  ])('rejects %s with a message naming the variable', (_label, env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message)
  })
})

describe('loadConfig: UPSTREAM=meta', () => {
  const META = {
    UPSTREAM: 'meta',
    META_ACCESS_TOKEN: 'EAAG0123456789abcdef',
    META_PHONE_NUMBERS: '+918000000001=1065',
  }

  it('needs no Kaleyra credentials, and reads the phone number ids, version and base URL', () => {
    const config = loadConfig(META)
    expect(config.upstreamName).toBe('meta')
    expect(config.kaleyra).toBeUndefined()
    expect(config.meta).toMatchObject({ version: 'v23.0', baseUrl: 'https://graph.facebook.com' })
    expect([...(config.meta?.phoneNumbers ?? [])]).toEqual([['+918000000001', '1065']])
  })

  it.each([
    [{ ...META, META_ACCESS_TOKEN: undefined }, 'META_ACCESS_TOKEN is required with UPSTREAM=meta'],
    [{ ...META, META_PHONE_NUMBERS: undefined }, 'META_PHONE_NUMBERS or META_WABA_ID is required'],
    [{ ...META, META_PHONE_NUMBERS: '+918000000001' }, 'META_PHONE_NUMBERS is invalid: entry 1'],
    [{ ...META, META_GRAPH_VERSION: '23.0' }, 'META_GRAPH_VERSION is invalid'],
    [{ ...META, UPSTREAM_MAX_RPS: '0' }, 'UPSTREAM_MAX_RPS must be 1 to 50 with UPSTREAM=meta'],
    [{ ...META, UPSTREAM_MAX_RPS: '51' }, 'UPSTREAM_MAX_RPS must be 1 to 50'],
    [{ ...META, META_PHONE_NUMBERS: ' ' }, 'META_PHONE_NUMBERS or META_WABA_ID is required'],
    [{ UPSTREAM: 'kaleyra' }, 'KALEYRA_SID is required with UPSTREAM=kaleyra'],
    [{ ...META, UPSTREAM: 'twilio' }, 'UPSTREAM is invalid: must be one of kaleyra, meta'],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env as Record<string, string>)).toThrow(message)
  })

  it('never echoes the access token in an error', () => {
    const token = 'EAAGsecret0123456789'
    try {
      loadConfig({ ...META, META_ACCESS_TOKEN: token, UPSTREAM_MAX_RPS: '500' })
      expect.unreachable()
    } catch (err) {
      expect(String(err)).not.toContain(token)
    }
    try {
      loadConfig({ ...META, META_ACCESS_TOKEN: `${token} with spaces` })
      expect.unreachable()
    } catch (err) {
      expect(String(err)).not.toContain(token)
    }
  })
})

describe('loadConfig: META_GRAPH_BASE_URL', () => {
  const META = { UPSTREAM: 'meta', META_ACCESS_TOKEN: 'EAAG0123456789abcdef', META_WABA_ID: '1' }
  it.each([
    'https://graph.example.com/proxy',
    'http://127.0.0.1:8081',
    'http://localhost:9',
    'http://[::1]:9',
  ])('takes %s', (url) => expect(loadConfig({ ...META, META_GRAPH_BASE_URL: url }).meta?.baseUrl).toBe(url))
  it('refuses plain http to another host: the token would travel in clear', () => {
    expect(() => loadConfig({ ...META, META_GRAPH_BASE_URL: 'http://proxy.example.com' })).toThrow(
      'META_GRAPH_BASE_URL must be https:// unless the host is loopback',
    )
  })
})
