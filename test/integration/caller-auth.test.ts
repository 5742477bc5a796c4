import { describe, expect, it } from 'vitest'
import { useGates } from '../helpers/gate.js'

const OLD = 'old-token-aaaaaaaaaaaaaaaa'
const NEW = 'new-token-bbbbbbbbbbbbbbbb'
const CHECK = '/can-call?business=%2B918000000001&user=%2B919000000001'

const gates = useGates()

describe('caller authentication', () => {
  it('needs no token when GATE_API_TOKENS is unset', async () => {
    const h = await gates.start()
    expect((await h.get(CHECK)).status).toBe(200)
  })

  it('answers 401 unauthorized without a token, with a wrong one, or a malformed header', async () => {
    const h = await gates.start({ env: { GATE_API_TOKENS: `${OLD},${NEW}` } })
    for (const headers of [
      undefined,
      { authorization: 'Bearer nope-nope-nope-nope' },
      { authorization: OLD },
    ]) {
      const res = await h.get(CHECK, headers)
      expect(res.status).toBe(401)
      expect(res.body).toMatchObject({ allowed: false, reason: 'unauthorized' })
      expect(res.body.message).toEqual(expect.any(String))
      expect(res.headers['www-authenticate']).toBe('Bearer')
    }
    expect(h.sim.requests).toHaveLength(0)
  })

  it('accepts every configured token, for rotation', async () => {
    const h = await gates.start({ env: { GATE_API_TOKENS: `${OLD},${NEW}` } })
    for (const token of [OLD, NEW]) {
      expect((await h.get(CHECK, { authorization: `Bearer ${token}` })).status).toBe(200)
    }
  })

  it('accepts GATE_API_TOKEN as a one-token alias', async () => {
    const h = await gates.start({ env: { GATE_API_TOKEN: NEW } })
    expect((await h.get(CHECK)).status).toBe(401)
    expect((await h.get(CHECK, { authorization: `Bearer ${NEW}` })).status).toBe(200)
  })

  it('guards the documents but never /healthz, /readyz or /metrics', async () => {
    const h = await gates.start({ env: { GATE_API_TOKENS: OLD } })
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await h.get(path)).status).toBe(200)
    for (const path of ['/openapi.json', '/docs/json']) expect((await h.get(path)).status).toBe(401)
    expect((await h.get('/openapi.json', { authorization: `Bearer ${OLD}` })).status).toBe(200)
  })

  it('guards unknown paths too: 401 without a token, 404 with one', async () => {
    const h = await gates.start({ env: { GATE_API_TOKENS: OLD } })
    expect((await h.get('/no-such-route')).status).toBe(401)
    expect((await h.get('/no-such-route', { authorization: `Bearer ${OLD}` })).status).toBe(404)
  })

  it('refuses to start with a token shorter than 16 characters, without echoing it', async () => {
    const { loadConfig } = await import('../../src/config/load.js')
    expect(() => loadConfig({ KALEYRA_SID: 'S', KALEYRA_API_KEY: 'k', GATE_API_TOKENS: 'short' })).toThrow(
      /GATE_API_TOKENS/,
    )
    try {
      loadConfig({ KALEYRA_SID: 'S', KALEYRA_API_KEY: 'k', GATE_API_TOKENS: 'secret-but-has spaces-in-it' })
    } catch (err) {
      expect((err as Error).message).not.toContain('secret-but')
    }
  })
})
