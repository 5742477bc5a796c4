import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { BUSINESS, grant, reject, useGates, type Harness } from '../helpers/gate.js'
import { freePort } from '../helpers/redis.js'

const OTHER = '+918000000002'
const user = (i: number) => `+91900000${String(i).padStart(4, '0')}`
const CONSENTS = Array.from({ length: 40 }, (_, i) => (i % 2 ? reject(user(i)) : grant(user(i))))
/** Quick retries: tests that pin Retry-After set a pause far longer than these. */
const FAST_RETRY = { retries: 3, baseMs: 1, maxMs: 5_000 }
/** Every gate here answers at once: no Kaleyra retries, no circuit that would spread one business's faults. */
const ENV = { UPSTREAM_RETRIES: '0', BREAKER_FAILURE_THRESHOLD: '0' }

const gates = useGates()
let dir: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'))
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

async function cli(
  args: string[],
  opts: { gate?: string; token?: string; stdin?: string; retry?: typeof FAST_RETRY } = {},
) {
  const collect = () => {
    const s = new PassThrough()
    let text = ''
    s.on('data', (c: Buffer) => (text += c.toString()))
    return { s, text: () => text }
  }
  const out = collect()
  const err = collect()
  const code = await main(
    args,
    {
      stdin: Readable.from(opts.stdin === undefined ? [] : [opts.stdin]),
      stdout: out.s,
      stderr: err.s,
      env: { CONSENT_GATE_URL: opts.gate, CONSENT_GATE_TOKEN: opts.token },
    },
    { retry: opts.retry ?? FAST_RETRY, progressIntervalMs: 60_000 },
  )
  return { code, stdout: out.text(), stderr: err.text() }
}

const write = (name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}
const csvOf = (rows: string[][]) => rows.map((r) => r.join(',')).join('\n') + '\n'
const lines = (file: string) => fs.readFileSync(file, 'utf8').trimEnd().split('\n')
/** Kaleyra requests the simulator answered about these users. */
const asked = (h: Harness) => h.sim.requests.flatMap((r) => r.user)

describe('consent-gate check', () => {
  it('exits 0 for an allowed pair and prints the reason and expiry', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    const run = await cli(['check', BUSINESS, user(0)], { gate: h.url })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^allowed: consent_granted/)
    expect(run.stdout).toContain('expires: 2026-11-26T12:00:00')
  })

  it('exits 1 for a denied pair, and --json prints the gate answer', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    const run = await cli(['check', BUSINESS, user(1), '--json', '--gate', h.url])
    expect(run.code).toBe(1)
    expect(JSON.parse(run.stdout)).toMatchObject({
      allowed: false,
      reason: 'consent_rejected',
      user: user(1),
    })
    expect(JSON.parse(run.stdout)).not.toHaveProperty('verdict')
  })

  it('exits 2 for bad input, an unreachable gate and a 503', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    const bad = await cli(['check', BUSINESS, '+91abc'], { gate: h.url })
    expect([bad.code, bad.stdout]).toEqual([2, expect.stringContaining('invalid_request')])
    const down = await cli(['check', BUSINESS, user(0)], { gate: `http://127.0.0.1:${await freePort()}` })
    expect([down.code, down.stdout]).toEqual([2, expect.stringContaining('gate_unreachable')])
    h.sim.setFault({ kind: 'status', status: 500 })
    const unavailable = await cli(['check', BUSINESS, user(2), '--fresh'], { gate: h.url })
    expect([unavailable.code, unavailable.stdout]).toEqual([
      2,
      expect.stringContaining('upstream_unavailable'),
    ])
  })

  it('sends CONSENT_GATE_TOKEN as the caller token, and never prints it', async () => {
    const token = 'cli-test-token-0123456789'
    const h = await gates.start({ consents: CONSENTS, env: { ...ENV, GATE_API_TOKENS: token } })
    const ok = await cli(['check', BUSINESS, user(0)], { gate: h.url, token })
    expect(ok.code).toBe(0)
    const refused = await cli(['check', BUSINESS, user(0), '--token', 'wrong-token-0123456789'], {
      gate: h.url,
    })
    expect([refused.code, refused.stdout]).toEqual([2, expect.stringContaining('unauthorized')])
    expect(refused.stdout + refused.stderr).not.toContain('wrong-token')
  })
})

describe('consent-gate precheck', () => {
  it('writes the input columns plus the result, in input order, and reports invalid rows by line', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    const input = write(
      'leads.csv',
      csvOf([
        ['lead', 'business', 'user'],
        ['a', BUSINESS, user(1)],
        ['b', BUSINESS, '+91abc'],
        ['c', BUSINESS, user(0)],
        ['d', BUSINESS, '+919999999999'],
      ]),
    )
    const out = path.join(dir, 'out.csv')
    const run = await cli(['precheck', input, '--out', out], { gate: h.url })
    expect(run.code).toBe(0)
    const rows = lines(out).map((l) => l.split(','))
    expect(rows[0]).toEqual([
      'lead',
      'business',
      'user',
      'allowed',
      'reason',
      'expires_at',
      'decision_id',
      'retry_at',
      'can_request_permission',
    ])
    expect(rows.slice(1).map((r) => [r[0], r[3], r[4]])).toEqual([
      ['a', 'false', 'consent_rejected'],
      ['b', 'false', 'invalid_request'],
      ['c', 'true', 'consent_granted'],
      ['d', 'false', 'no_consent'],
    ])
    expect(rows[3]?.[5]).toMatch(/^2026-11-26T12:00:00/)
    expect(rows[3]?.[6]).toMatch(/^[0-9a-f-]{36}$/)
    expect(run.stderr).toContain('line 3: invalid_request: user may only hold a leading + and digits')
    expect(run.stderr).toMatch(/consent_granted\s+1/)
    expect(run.stderr).toMatch(/total\s+4/)
    expect(asked(h)).not.toContain('+91abc')
  })

  it('keeps input order when later chunks finish first, with several requests in flight', async () => {
    const h = await gates.start({ env: { ...ENV, UPSTREAM_MAX_RPS: '0' } })
    const users = Array.from({ length: 2500 }, (_, i) => `+9170000${String(i).padStart(5, '0')}`)
    // Rows past the first chunk are cached (answered at once); the first chunk waits for a slow Kaleyra.
    for (let i = 1000; i < users.length; i += 1000) {
      const checks = users.slice(i, i + 1000).map((u) => ({ business: BUSINESS, user: u }))
      await fetch(`${h.url}/can-call/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ checks }),
      })
    }
    h.sim.setFault({ kind: 'latency', ms: 100 })
    const input = write('leads.csv', csvOf([['user'], ...users.map((u) => [u])]))
    const run = await cli(['precheck', input, '--business', BUSINESS, '--concurrency', '3'], { gate: h.url })
    expect(run.code).toBe(0)
    const out = run.stdout.trimEnd().split('\n')
    expect(out.slice(1).map((l) => l.split(',')[0])).toEqual(users)
    expect(out.slice(1).every((l) => l.split(',')[2] === 'no_consent')).toBe(true)
  })

  it('reads and writes NDJSON, the decisions as the gate gives them', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    const input = [
      JSON.stringify({ business: BUSINESS, user: user(0) }),
      '',
      'not json',
      JSON.stringify({ user: user(1) }),
    ].join('\n')
    const run = await cli(['precheck', '-', '--format', 'ndjson', '--business', BUSINESS], {
      gate: h.url,
      stdin: input,
    })
    expect(run.code).toBe(0)
    const out = run.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(out.map((o) => o.reason)).toEqual(['consent_granted', 'invalid_request', 'consent_rejected'])
    expect(out[0]).toMatchObject({ business: BUSINESS, user: user(0), source: 'upstream' })
    expect(out[0]).not.toHaveProperty('verdict')
    expect(run.stderr).toContain('line 3: invalid_request: the line is not JSON')
  })

  it('resumes from an existing --out: keeps decided rows, checks only undetermined and missing ones', async () => {
    const h = await gates.start({ consents: [...CONSENTS, grant(user(1), { business: OTHER })], env: ENV })
    const input = write(
      'leads.ndjson',
      [
        { business: BUSINESS, user: user(0) },
        { business: OTHER, user: user(1) },
        { business: BUSINESS, user: user(2) },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    )
    const out = path.join(dir, 'out.ndjson')
    h.sim.setFault({ kind: 'status', status: 500, business: OTHER })
    const first = await cli(['precheck', input, '--out', out], {
      gate: h.url,
      retry: { ...FAST_RETRY, retries: 1 },
    })
    expect(first.code).toBe(2)
    expect(first.stderr).toContain('1 rows stayed undetermined')
    const before = lines(out).map((l) => JSON.parse(l))
    expect(before.map((o) => o.reason)).toEqual([
      'consent_granted',
      'upstream_unavailable',
      'consent_granted',
    ])

    h.sim.clearFault()
    h.sim.resetRequests()
    const second = await cli(['precheck', input, '--out', out], { gate: h.url })
    expect(second.code).toBe(0)
    const after = lines(out).map((l) => JSON.parse(l))
    expect(after.map((o) => o.reason)).toEqual(['consent_granted', 'consent_granted', 'consent_granted'])
    // Kept rows are the very lines of the first run; only the undetermined pair reached Kaleyra again.
    expect([after[0].decision_id, after[2].decision_id]).toEqual([
      before[0].decision_id,
      before[2].decision_id,
    ])
    expect(asked(h)).toEqual([user(1)])
    expect(second.stderr).toContain('2 kept from the previous run')
    expect(fs.existsSync(`${out}.partial`)).toBe(false)
  })

  it('resumes an output cut mid-row: the partial row is checked again', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    const input = write(
      'leads.csv',
      csvOf([['business', 'user'], ...[0, 1, 2, 3].map((i) => [BUSINESS, user(i)])]),
    )
    const out = path.join(dir, 'out.csv')
    expect((await cli(['precheck', input, '--out', out], { gate: h.url })).code).toBe(0)
    const full = fs.readFileSync(out, 'utf8')
    fs.writeFileSync(out, full.slice(0, full.lastIndexOf(user(3)) + 5))
    h.sim.resetRequests()
    const run = await cli(['precheck', input, '--out', out], { gate: h.url })
    expect(run.code).toBe(0)
    expect(lines(out).map((l) => l.split(',').slice(0, 4))).toEqual(
      full
        .trimEnd()
        .split('\n')
        .map((l) => l.split(',').slice(0, 4)),
    )
    expect(asked(h)).toEqual([])
    expect(run.stderr).toContain('3 kept from the previous run')
  })

  it('refuses an --out written for another input, and leaves it as it was', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    const out = write(
      'out.csv',
      'user,allowed,reason,expires_at,decision_id\n+919000000000,true,consent_granted,,x\n',
    )
    const input = write(
      'leads.csv',
      csvOf([
        ['business', 'user'],
        [BUSINESS, user(0)],
      ]),
    )
    const run = await cli(['precheck', input, '--out', out], { gate: h.url })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('was it written for another input?')
    expect(fs.readFileSync(out, 'utf8')).toContain('+919000000000,true')
  })

  it('retries a request the gate answers 503, after its Retry-After', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    const seen: number[] = []
    // In front of the gate: the first batch request gets a 503 with Retry-After: 1, the rest pass through.
    const front = http.createServer((req, res) => {
      seen.push(performance.now())
      if (seen.length === 1) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' })
        res.end(JSON.stringify({ allowed: false, reason: 'overloaded', message: 'busy' }))
        return
      }
      req.pipe(
        http.request(`${h.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        }),
      )
    })
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r))
    try {
      const input = write(
        'leads.csv',
        csvOf([
          ['business', 'user'],
          [BUSINESS, user(0)],
          [BUSINESS, user(1)],
        ]),
      )
      const run = await cli(['precheck', input], {
        gate: `http://127.0.0.1:${(front.address() as { port: number }).port}`,
      })
      expect(run.code).toBe(0)
      expect(
        run.stdout
          .trimEnd()
          .split('\n')
          .slice(1)
          .map((l) => l.split(',')[3]),
      ).toEqual(['consent_granted', 'consent_rejected'])
      expect(seen.length).toBe(2)
      expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(950)
    } finally {
      await new Promise((r) => front.close(r))
    }
  })

  it('exits 2 when rows stay undetermined after its retries, and names them in the output', async () => {
    const h = await gates.start({ consents: CONSENTS, env: ENV })
    h.sim.setFault({ kind: 'status', status: 500 })
    const input = write(
      'leads.csv',
      csvOf([
        ['business', 'user'],
        [BUSINESS, user(0)],
        [BUSINESS, '+91x'],
      ]),
    )
    const run = await cli(['precheck', input], { gate: h.url, retry: { ...FAST_RETRY, retries: 2 } })
    expect(run.code).toBe(2)
    expect(
      run.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[3]),
    ).toEqual(['upstream_unavailable', 'invalid_request'])
    // The first request and two retries, each one Kaleyra request for the one valid row.
    expect(asked(h)).toEqual([user(0), user(0), user(0)])
    expect(run.stderr).toMatch(/upstream_unavailable\s+1\s+undetermined/)
  })

  it('stops before sending anything on a bad --business, a missing column or a refused token', async () => {
    const h = await gates.start({
      consents: CONSENTS,
      env: { ...ENV, GATE_API_TOKENS: 'the-right-token-0123456789' },
    })
    const input = write('leads.csv', csvOf([['phone'], [user(0)]]))
    const badBusiness = await cli(['precheck', input, '--business', '+91 80 abc'], { gate: h.url })
    expect([badBusiness.code, badBusiness.stderr]).toEqual([
      2,
      expect.stringContaining('--business: may only hold'),
    ])
    const noUser = await cli(['precheck', input, '--business', BUSINESS], { gate: h.url })
    expect([noUser.code, noUser.stderr]).toEqual([2, expect.stringContaining('the CSV has no user column')])
    const good = write('good.csv', csvOf([['user'], [user(0)]]))
    const refused = await cli(['precheck', good, '--business', BUSINESS], {
      gate: h.url,
      token: 'a-wrong-token-0123456789',
    })
    expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('unauthorized')])
    expect(h.sim.requests.length).toBe(0)
  })
})
