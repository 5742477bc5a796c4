import { describe, expect, it } from 'vitest'
import { once } from 'node:events'
import http from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import pino from 'pino'
import type { CacheHits } from '../../../src/http/cache-hits.js'
import {
  createFrontDoor,
  installFrontDoor,
  MAX_HELD_ANSWERS,
  parseCheckTarget,
} from '../../../src/http/front-door.js'

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

  describe('answers held to the end of the loop turn', () => {
    /** A response that records what was sent to it; `throws` makes its writeHead fail. */
    function fakeResponse(throws = false) {
      const sent: string[] = []
      let destroyed = false
      const res = {
        shouldKeepAlive: true,
        writeHead() {
          if (throws) throw new Error('cannot write')
          return res
        },
        end: (body: string) => void sent.push(body),
        destroy: () => void (destroyed = true),
      }
      return { res: res as unknown as http.ServerResponse, sent, destroyed: () => destroyed }
    }
    const request = () => ({ method: 'GET', url: CHECK, headers: {} }) as unknown as http.IncomingMessage
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
    function door(opts: { observe?: (seconds: number) => void; closing?: () => boolean } = {}) {
      const errors: string[] = []
      const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) })
      let n = 0
      const hits: CacheHits = { answer: () => `{"n":${++n}}`, record: () => undefined }
      const observe = opts.observe ?? (() => undefined)
      const d = createFrontDoor({ hits, open: () => true, closing: opts.closing, observe, logger })
      return { d, errors }
    }

    it("sends each turn's answers at the end of that turn", async () => {
      const { d } = door()
      for (const n of [1, 2]) {
        const r = fakeResponse()
        d.handle(request(), r.res)
        expect(r.sent).toEqual([])
        await nextTurn()
        expect(r.sent).toEqual([`{"n":${n}}`])
      }
    })

    it('closes the connection of an answer held when the gate began shutting down', async () => {
      let closing = false
      const { d } = door({ closing: () => closing })
      const [before, during] = [fakeResponse(), fakeResponse()]
      d.handle(request(), before.res)
      await nextTurn()
      d.handle(request(), during.res)
      closing = true
      await nextTurn()
      expect([before.res.shouldKeepAlive, during.res.shouldKeepAlive]).toEqual([true, false])
      expect(during.sent).toEqual(['{"n":2}'])
    })

    it('sends nothing, and times nothing, to a caller gone while its answer was held', async () => {
      const observed: number[] = []
      const { d } = door({ observe: (seconds) => void observed.push(seconds) })
      const server = http.createServer(() => undefined)
      installFrontDoor(server, d)
      // After the door, in the same turn: the answer is held, and its connection goes.
      server.on('request', (req: http.IncomingMessage) => req.socket.destroy())
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      try {
        const { port } = server.address() as AddressInfo
        const client = connect(port, '127.0.0.1')
        const received: Buffer[] = []
        client.on('data', (chunk: Buffer) => void received.push(chunk))
        client.on('error', () => undefined)
        client.write(`GET ${CHECK} HTTP/1.1\r\nHost: gate\r\n\r\n`)
        await once(client, 'close')
        await nextTurn()
        expect(received).toEqual([])
        expect(observed).toEqual([])
      } finally {
        await new Promise((resolve) => server.close(resolve))
      }
    })

    it('sends them after the turn, each its own; a failing send closes only its connection', async () => {
      const { d, errors } = door()
      const [first, failing, last] = [fakeResponse(), fakeResponse(true), fakeResponse()]
      for (const r of [first, failing, last]) expect(d.handle(request(), r.res)).toBe(true)
      expect(first.sent).toEqual([])
      await nextTurn()
      expect([first.sent, failing.sent, last.sent]).toEqual([['{"n":1}'], [], ['{"n":3}']])
      expect([first.destroyed(), failing.destroyed(), last.destroyed()]).toEqual([false, true, false])
      expect(errors.join('')).toContain('sending a cache hit failed')
    })

    it(`sends at once when ${MAX_HELD_ANSWERS} are held`, async () => {
      const { d } = door()
      const responses = Array.from({ length: MAX_HELD_ANSWERS + 1 }, () => fakeResponse())
      for (const r of responses) d.handle(request(), r.res)
      expect(responses.filter((r) => r.sent.length === 1)).toHaveLength(MAX_HELD_ANSWERS)
      expect(responses.at(-1)!.sent).toEqual([])
      await nextTurn()
      expect(responses.at(-1)!.sent).toEqual([`{"n":${MAX_HELD_ANSWERS + 1}}`])
    })

    it('keeps an answer sent when observing its duration throws, and says so in the log', async () => {
      const { d, errors } = door({
        observe: () => {
          throw new Error('histogram failed')
        },
      })
      const [a, b] = [fakeResponse(), fakeResponse()]
      d.handle(request(), a.res)
      d.handle(request(), b.res)
      await nextTurn()
      expect([a.sent, b.sent]).toEqual([['{"n":1}'], ['{"n":2}']])
      expect(errors.join('')).toContain('recording a cache hit failed')
    })
  })
})
