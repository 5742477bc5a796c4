import { describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { generateOpenApiYaml } from '../../src/http/openapi.js'
import { useGates } from '../helpers/gate.js'

const gates = useGates()

describe('health and documents', () => {
  it('answers /healthz and /readyz once listening', async () => {
    const h = await gates.start()
    expect(await h.get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } })
    expect(await h.get('/readyz')).toMatchObject({ status: 200, body: { status: 'ready' } })
  })

  it('is not ready before it listens', async () => {
    await gates.start()
    const { buildApp } = await import('../../src/http/app.js')
    const { loadConfig } = await import('../../src/config/load.js')
    const { createLogger } = await import('../../src/observability/logger.js')
    const idle = await buildApp(loadConfig({ KALEYRA_SID: 'S', KALEYRA_API_KEY: 'k' }), {
      logger: createLogger('silent'),
    })
    const res = await idle.inject({ url: '/readyz' })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({
      status: 'starting',
      upstream: { circuit: 'closed' },
      shared: { mode: 'off' },
    })
    await idle.close()
  })

  it('serves the OpenAPI document and Swagger UI', async () => {
    const h = await gates.start()
    const doc = await h.get('/openapi.json')
    expect(doc.body.openapi).toMatch(/^3\./)
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/can-call', '/healthz', '/readyz']))
    const ui = await h.get('/docs/json')
    expect(ui.status).toBe(200)
  })

  it('keeps openapi/openapi.yaml in step with the route schemas (npm run openapi)', async () => {
    const committed = await readFile(new URL('../../openapi/openapi.yaml', import.meta.url), 'utf8')
    expect(committed).toBe(await generateOpenApiYaml())
  })
})
