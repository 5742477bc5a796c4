// Swagger UI and the OpenAPI document are built on their first request (plugins/lazy-*.ts): every answer must still
// be the one @fastify/swagger-ui gave when it was registered at start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Fastify, { type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { once } from 'node:events'
import http from 'node:http'
import { useGates } from '../helpers/gate.js'

const gates = useGates()
/** Swagger UI registered at start, as the gate did before: the reference for its pages and files. */
let eager: FastifyInstance
let eagerUrl: string

beforeAll(async () => {
  eager = Fastify()
  await eager.register(swagger, { openapi: {} })
  await eager.register(swaggerUi, { routePrefix: '/docs' })
  eagerUrl = await eager.listen({ port: 0, host: '127.0.0.1' })
})
afterAll(() => eager.close())

/** Status, the headers that matter, and the body, over real HTTP with the path sent as is. */
async function fetchRaw(base: string, path: string, method: 'GET' | 'HEAD' = 'GET', headers = {}) {
  // node:http sends the path as given; undici (and any URL) would fold its `..` segments first.
  const req = http.request(base, { path, method, headers })
  req.end()
  const [res] = (await once(req, 'response')) as [http.IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  const pick = (name: string) => res.headers[name]
  return {
    status: res.statusCode,
    type: pick('content-type'),
    length: pick('content-length'),
    etag: pick('etag'),
    location: pick('location'),
    range: pick('content-range'),
    body: Buffer.concat(chunks).toString('latin1'),
  }
}

describe('Swagger UI, loaded on first use', () => {
  const pages = [
    '/docs',
    '/docs/',
    '/docs/static/index.html',
    '/docs/static/swagger-initializer.js',
    '/docs/static/swagger-ui.css',
    '/docs/static/swagger-ui-bundle.js',
    '/docs/static/favicon-32x32.png',
    '/docs/static/',
  ]

  it('serves each page and file as @fastify/swagger-ui registered at start does, HEAD and ranges included', async () => {
    const h = await gates.start()
    for (const path of pages) {
      for (const method of ['GET', 'HEAD'] as const)
        expect(await fetchRaw(h.url, path, method), `${method} ${path}`).toEqual(
          await fetchRaw(eagerUrl, path, method),
        )
    }
    const css = '/docs/static/swagger-ui.css'
    const { etag } = await fetchRaw(h.url, css)
    for (const headers of [{ range: 'bytes=0-9' }, { 'if-none-match': String(etag) }])
      expect(await fetchRaw(h.url, css, 'GET', headers)).toEqual(
        await fetchRaw(eagerUrl, css, 'GET', headers),
      )
    expect((await fetchRaw(h.url, css, 'GET', { 'if-none-match': String(etag) })).status).toBe(304)
  })

  it("serves the gate's own document at /docs/json and /docs/yaml", async () => {
    const h = await gates.start()
    const json = await h.get('/docs/json')
    expect(json.status).toBe(200)
    expect(json.body).toEqual((await h.get('/openapi.json')).body)
    expect(json.body.paths['/can-call']).toBeDefined()
    const yaml = await h.get('/docs/yaml')
    expect(yaml.headers['content-type']).toBe('application/x-yaml')
    expect(yaml.body).toContain('/can-call:')
  })

  it("answers an unknown file with the gate's 404 envelope, and a path out of its folder with a 403", async () => {
    const h = await gates.start()
    expect(await h.get('/docs/static/nope.js')).toMatchObject({
      status: 404,
      body: { allowed: false, reason: 'not_found', message: 'No route GET /docs/static/nope.js' },
    })
    // Sent as is (no client folds the `..`): @fastify/static refuses it before touching the disk.
    for (const path of ['/docs/static/../package.json', '/docs/static/%2e%2e/package.json']) {
      const res = await fetchRaw(h.url, path)
      expect(res.status, path).toBe(403)
      expect(JSON.parse(res.body)).toEqual({
        allowed: false,
        reason: 'invalid_request',
        message: 'Forbidden',
      })
    }
    const nul = await fetchRaw(h.url, '/docs/static/x%00.js')
    expect(nul.status).toBe(400)
    expect(JSON.parse(nul.body)).toMatchObject({ allowed: false, reason: 'invalid_request' })
  })
})
