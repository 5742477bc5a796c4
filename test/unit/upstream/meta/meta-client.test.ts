import { afterEach, describe, it, expect } from 'vitest'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import pino from 'pino'
import { createManualClock } from '../../../../src/lib/clock.js'
import { UpstreamError } from '../../../../src/upstream/errors.js'
import type { UpstreamGuard } from '../../../../src/upstream/guard.js'
import { createMetaClient, type MetaClientOptions } from '../../../../src/upstream/meta/client.js'

const TOKEN = 'EAAGm0PX4ZCpsBAKZCZBZA-secret-token'
const BUSINESS = '+918000000001'
const OTHER_BUSINESS = '+918000000002'
const PNID = '106540352242922'
const USER = '+919876543210'
const BSUID = 'US.ENT.13491208655302741918'

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void
interface Seen {
  url: string
  authorization: string | undefined
}

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()))
})

/** A Graph stand-in on port 0 that records what it was asked. */
async function graph(handler: Handler): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization })
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(typeof body === 'string' ? body : JSON.stringify(body))
  }

const GRANTED = {
  messaging_product: 'whatsapp',
  permission: { status: 'temporary', expiration_time: 1800000000 },
  actions: [
    { action_name: 'start_call', can_perform_action: true },
    { action_name: 'send_call_permission_request', can_perform_action: false },
  ],
}

/** Every line the client logs, at every level. */
function capturedLogger() {
  const lines: string[] = []
  return { lines, logger: pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) }) }
}

function client(baseUrl: string, overrides: Partial<MetaClientOptions> = {}) {
  const c = createMetaClient({
    baseUrl,
    version: 'v23.0',
    accessToken: TOKEN,
    phoneNumbers: { idOf: (b) => (b === BUSINESS ? PNID : b === OTHER_BUSINESS ? '2' : undefined) },
    timeoutMs: 1000,
    clock: createManualClock(),
    logger: pino({ level: 'silent' }),
    ...overrides,
  })
  cleanups.push(() => c.close())
  return c
}

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (err instanceof UpstreamError) return err
  throw new Error(`expected an UpstreamError, got ${String(err)}`)
}

/** The message of an error and of every cause under it. */
function messages(err: unknown): string {
  const parts: string[] = []
  for (let e = err; e instanceof Error && parts.length < 10; e = e.cause)
    parts.push(e.message, String(e.stack))
  return parts.join('\n')
}

describe('Meta client: the permission request', () => {
  it('asks the phone number ID with user_wa_id digits and the Bearer token', async () => {
    const g = await graph(json(200, GRANTED))
    const records = await client(g.url).listPermissions([BUSINESS], [USER])
    expect(g.seen).toEqual([
      { url: `/v23.0/${PNID}/call_permissions?user_wa_id=919876543210`, authorization: `Bearer ${TOKEN}` },
    ])
    expect(records).toEqual([
      {
        business: BUSINESS,
        user: USER,
        response: 'accept',
        isPermanent: false,
        responseSource: 'meta_api',
        canPerformAction: true,
        expiresAtMs: 1800000000_000,
        retryAtMs: null,
        canRequestPermission: false,
      },
    ])
  })

  it('asks a BSUID as recipient, and answers about the BSUID', async () => {
    const g = await graph(json(200, GRANTED))
    const [record] = await client(g.url).listPermissions([BUSINESS], [BSUID])
    expect(g.seen[0]?.url).toBe(`/v23.0/${PNID}/call_permissions?recipient=US.ENT.13491208655302741918`)
    expect(record?.user).toBe(BSUID)
  })

  it('honours the version and a base path prefix, percent-encoding what it puts in the path', async () => {
    const g = await graph(json(200, GRANTED))
    const c = client(`${g.url}/graph proxy/`, {
      version: 'v21.0',
      phoneNumbers: { idOf: () => '1/2' },
    })
    await c.listPermissions([BUSINESS], [USER])
    expect(g.seen[0]?.url).toBe('/graph%20proxy/v21.0/1%2F2/call_permissions?user_wa_id=919876543210')
  })

  it('asks every pair once for a larger ask, and returns all their records', async () => {
    const g = await graph(json(200, GRANTED))
    const records = await client(g.url).listPermissions([BUSINESS, OTHER_BUSINESS], [USER, BSUID])
    expect(g.seen.map((s) => s.url).sort()).toEqual(
      [
        `/v23.0/${PNID}/call_permissions?user_wa_id=919876543210`,
        `/v23.0/${PNID}/call_permissions?recipient=${BSUID}`,
        '/v23.0/2/call_permissions?user_wa_id=919876543210',
        `/v23.0/2/call_permissions?recipient=${BSUID}`,
      ].sort(),
    )
    expect(records.map((r) => `${r.business} ${r.user}`).sort()).toEqual(
      [
        `${BUSINESS} ${USER}`,
        `${BUSINESS} ${BSUID}`,
        `${OTHER_BUSINESS} ${USER}`,
        `${OTHER_BUSINESS} ${BSUID}`,
      ].sort(),
    )
  })

  it('goes through the guard with the priority, and observes each request once', async () => {
    const g = await graph(json(200, GRANTED))
    const priorities: unknown[] = []
    const guard: UpstreamGuard = {
      run: (attempt, deadline, priority) => {
        priorities.push(priority)
        return attempt(deadline.signal)
      },
    }
    const observed: string[] = []
    const c = client(g.url, { guard, observe: (outcome) => observed.push(outcome) })
    await c.listPermissions([BUSINESS], [USER], { priority: 'bulk' })
    expect(priorities).toEqual(['bulk'])
    expect(observed).toEqual(['ok'])
  })

  it('says what it is: meta, asks BSUIDs, never batches', async () => {
    const c = client('http://127.0.0.1:9')
    expect([c.name, c.asksBsuid, c.batches]).toEqual(['meta', true, false])
  })
})

describe('Meta client: a business without a phone number ID', () => {
  it('refuses it with a sentence naming the number, and sends nothing', async () => {
    const g = await graph(json(200, GRANTED))
    const c = client(g.url)
    // No discovery here: the sentence names only what the gate was given.
    expect(c.refuses?.('+918000000009')).toBe(
      'business +918000000009 has no Meta phone number id: it is not in META_PHONE_NUMBERS',
    )
    expect(c.refuses?.(BUSINESS)).toBeUndefined()
    const err = await failure(c.listPermissions(['+918000000009'], [USER]))
    expect(err.kind).toBe('error')
    expect(err.message).not.toContain('8000000009')
    expect(g.seen).toHaveLength(0)
  })
})

describe('Meta client: failures never show the token', () => {
  const echo = { error: { message: `Invalid token ${TOKEN}`, type: 'OAuthException', code: 190 } }
  const answers: [string, Handler, string, string][] = [
    ['code 190', json(401, echo), 'auth_failed', 'auth_failed'],
    [
      'code 613 with Retry-After',
      json(429, { error: { code: 613, message: TOKEN } }, { 'retry-after': '2' }),
      'rate_limited',
      'rate_limited',
    ],
    [
      'a 400 with code 100',
      json(400, { error: { code: 100, message: TOKEN, type: 'OAuthException' } }),
      'error',
      'error',
    ],
    ['a 500 echoing the token', json(500, TOKEN), 'error', 'error'],
    ['a 200 that is not JSON', json(200, `<html>${TOKEN}</html>`), 'error', 'error'],
    ['a 200 the schema refuses', json(200, { permission: { status: TOKEN.repeat(3) } }), 'error', 'error'],
    ['an oversized body', json(200, `{"x":"${'a'.repeat(1024 * 1024 + 10)}"}`), 'error', 'error'],
    ['a dropped connection', (req) => req.socket.destroy(), 'error', 'error'],
    ['no answer in time', () => {}, 'timeout', 'timeout'],
  ]

  it.each(answers)('%s', async (_, handler, kind, outcome) => {
    const g = await graph(handler)
    const { lines, logger } = capturedLogger()
    const observed: string[] = []
    const c = client(g.url, { logger, timeoutMs: 200, observe: (o) => observed.push(o) })
    const err = await failure(c.listPermissions([BUSINESS], [USER]))
    expect(err.kind).toBe(kind)
    expect(observed).toEqual([outcome])
    expect(messages(err)).not.toContain(TOKEN)
    expect(JSON.stringify(err.opts)).not.toContain(TOKEN)
    expect(lines.join('')).not.toContain(TOKEN)
    expect(lines.join('')).not.toContain('919876543210')
  })

  it('reads the Retry-After of a 613', async () => {
    const g = await graph(json(429, { error: { code: 613 } }, { 'retry-after': '3' }))
    const err = await failure(client(g.url).listPermissions([BUSINESS], [USER]))
    expect(err.opts.retryAfterSeconds).toBe(3)
  })

  it('a refused connection', async () => {
    const g = await graph(json(200, GRANTED))
    await cleanups.pop()?.()
    const err = await failure(client(g.url).listPermissions([BUSINESS], [USER]))
    expect(err.kind).toBe('error')
    expect(messages(err)).not.toContain(TOKEN)
  })

  it('a token undici will not send', async () => {
    const g = await graph(json(200, GRANTED))
    const bad = `${TOKEN}\r\nx-injected: 1`
    const err = await failure(client(g.url, { accessToken: bad }).listPermissions([BUSINESS], [USER]))
    expect(err.kind).toBe('error')
    expect(messages(err)).not.toContain(TOKEN)
    expect(g.seen).toHaveLength(0)
  })
})

describe('Meta client: phone number discovery', () => {
  const page = (data: unknown[], after?: string, next = true) => ({
    data,
    paging: { cursors: { before: 'b', ...(after ? { after } : {}) }, ...(next ? { next: 'https://x' } : {}) },
  })

  it('follows the after cursor until Meta gives no next page', async () => {
    const pages: Record<string, unknown> = {
      '': page([{ id: '1', display_phone_number: '+91 80000 00001' }], 'c1'),
      c1: page(
        [
          { id: '2', display_phone_number: '918000000002' },
          { id: '3', display_phone_number: 'not a number' },
          { id: 'x4', display_phone_number: '+918000000004' },
        ],
        'c/2=',
      ),
      'c/2=': page([{ id: '5', display_phone_number: '+1 631-555-0105' }], 'c3', false),
    }
    const g = await graph((req, res) => {
      const after = new URL(req.url ?? '', 'http://x').searchParams.get('after') ?? ''
      json(200, pages[after])(req, res)
    })
    const { lines, logger } = capturedLogger()
    const found = await client(`${g.url}/proxy`, { logger }).discoverPhoneNumbers('102290129340398')
    expect([...found]).toEqual([
      ['+918000000001', '1'],
      ['+918000000002', '2'],
      ['+16315550105', '5'],
    ])
    const first = '/proxy/v23.0/102290129340398/phone_numbers?fields=id,display_phone_number&limit=100'
    expect(g.seen.map((s) => s.url)).toEqual([first, `${first}&after=c1`, `${first}&after=c%2F2%3D`])
    expect(g.seen.every((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true)
    expect(lines.join('')).not.toContain(TOKEN)
  })

  it('stops after 20 pages and keeps what it read', async () => {
    let n = 0
    const g = await graph((req, res) => {
      n++
      json(
        200,
        page([{ id: String(n), display_phone_number: `+9180000${String(n).padStart(5, '0')}` }], `c${n}`),
      )(req, res)
    })
    const found = await client(g.url).discoverPhoneNumbers('1')
    expect(g.seen).toHaveLength(20)
    expect(found.size).toBe(20)
  })

  it('fails as an UpstreamError when a page fails, without the token', async () => {
    const g = await graph((req, res) => {
      if (req.url?.includes('after=')) json(401, { error: { code: 190, message: TOKEN } })(req, res)
      else json(200, page([{ id: '1', display_phone_number: '+918000000001' }], 'c1'))(req, res)
    })
    const err = await failure(client(g.url).discoverPhoneNumbers('1'))
    expect(err.kind).toBe('auth_failed')
    expect(messages(err)).not.toContain(TOKEN)
  })
})

describe('Meta client: a business not known while discovery has never answered', () => {
  it('is not refused (a 503 follows, not a 400): discovery may still find it', async () => {
    const g = await graph(json(200, GRANTED))
    let discovered = false
    const c = client(g.url, {
      phoneNumbers: {
        idOf: (b: string) => (b === BUSINESS ? PNID : undefined),
        get discovered() {
          return discovered
        },
      },
    })
    expect(c.refuses?.('+918000000009')).toBeUndefined()
    const err = await failure(c.listPermissions(['+918000000009'], [USER]))
    expect(err.message).toContain('not discovered yet')
    discovered = true
    expect(c.refuses?.('+918000000009')).toContain('and was not discovered under META_WABA_ID')
    expect(g.seen).toHaveLength(0)
  })
})
