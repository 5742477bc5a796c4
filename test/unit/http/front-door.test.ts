import { describe, expect, it } from 'vitest'
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import type { CacheHits } from '../../../src/http/cache-hits.js'
import { createFrontDoor, installFrontDoor, parseCheckTarget } from '../../../src/http/front-door.js'

describe('parseCheckTarget', () => {
  it('reads a business and a user, in either order, decoding escapes', () => {
    expect(parseCheckTarget('/can-call?business=%2B918000000001&user=%2B919000000001')).toEqual([
      '+918000000001',
      '+919000000001',
    ])
    expect(parseCheckTarget('/can-call?user=IN.1349&business=%2b918000000001')).toEqual([
      '+918000000001',
      'IN.1349',
    ])
  })

  it("leaves anything else to Fastify: a '+', a bad escape, other or repeated parameters, an empty value", () => {
    for (const url of [
      '/can-call?business=+918000000001&user=%2B919000000001',
      '/can-call?business=%2B918000000001&user=%zz',
      '/can-call?business=%2B918000000001&user=%2B919000000001&fresh=true',
      '/can-call?business=%2B918000000001&user=%2B919000000001&',
      '/can-call?business=%2B918000000001&business=%2B919000000001',
      '/can-call?business=%2B918000000001&user=',
      '/can-call?business=%2B918000000001&user',
      '/can-call?business=%2B918000000001',
      '/can-call/?business=%2B918000000001&user=%2B919000000001',
      '/can-call/batch?business=%2B918000000001&user=%2B919000000001',
      '/can-call?Business=%2B918000000001&user=%2B919000000001',
    ])
      expect(parseCheckTarget(url), url).toBeUndefined()
  })
})

describe('createFrontDoor', () => {
  const CHECK = '/can-call?business=%2B918000000001&user=%2B919000000001'

  /** A server with the door in front of a stand-in for Fastify, which answers 299 and counts what it got. */
  async function serve(hits: CacheHits) {
    const errors: string[] = []
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) })
    const door = createFrontDoor({ hits, open: () => true, observe: () => undefined, logger })
    let passedOn = 0
    const server = http.createServer((_req, res) => {
      passedOn++
      res.writeHead(299).end()
    })
    installFrontDoor(server, door)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    return {
      errors,
      passedOn: () => passedOn,
      get: (path: string) => fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status),
      close: () => new Promise((resolve) => server.close(resolve)),
    }
  }

  const fail = (what: string) => () => {
    throw new Error(what)
  }
  it.each([
    {
      when: 'passes the request on, having written nothing, when the hit throws',
      hits: { answer: fail('lookup failed'), record: () => undefined },
      status: 299,
      passedOn: 1,
      logged: 'answering a cache hit failed',
    },
    {
      when: 'keeps the answer it sent when recording it throws, and says so in the log',
      hits: { answer: () => '{"allowed":true}', record: fail('log failed') },
      status: 200,
      passedOn: 0,
      logged: 'recording a cache hit failed',
    },
  ])('$when', async ({ hits, status, passedOn, logged }) => {
    const s = await serve(hits)
    try {
      expect(await s.get(CHECK)).toBe(status)
      expect(s.passedOn()).toBe(passedOn)
      expect(s.errors.join('')).toContain(logged)
    } finally {
      await s.close()
    }
  })
})
