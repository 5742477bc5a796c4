import { describe, expect, it } from 'vitest'
import { ConsentGateError } from '../../../src/client/index.js'
import { byBusiness, createChecker, FatalGateError, type Pair } from '../../../src/cli/precheck/checker.js'
import type { CheckResult } from '../../../src/cli/results.js'

const A = '+918000000001'
const B = '+918000000002'
const pair = (business: string, n: number): Pair => ({ business, user: `+9190000000${n}` })
const ok = (p: Pair): CheckResult => ({ allowed: false, reason: 'no_consent', ...p })
const RETRY = { retries: 2, baseMs: 10, maxMs: 5000 }

function checkerWith(answer: (pairs: Pair[], call: number) => CheckResult[] | Promise<CheckResult[]>) {
  const sent: Pair[][] = []
  const pauses: number[] = []
  const checker = createChecker({
    client: {
      canCallBatch: async (checks, opts) => {
        expect(opts).toEqual({ priority: 'bulk' })
        sent.push(checks)
        return { results: await answer(checks, sent.length) }
      },
    },
    concurrency: 2,
    retry: RETRY,
    sleep: async (ms) => void pauses.push(ms),
  })
  return { checker, sent, pauses }
}

describe('createChecker', () => {
  it('sends a chunk grouped by business and gives the answers back in the chunk order', async () => {
    const { checker, sent } = checkerWith((pairs) => pairs.map(ok))
    const pairs = [pair(B, 1), pair(A, 2), pair(B, 3), pair(A, 4)]
    const results = await checker.check(pairs)
    expect(sent[0]!.map((p) => p.business)).toEqual([A, A, B, B])
    expect(results.map((r) => r.user)).toEqual(pairs.map((p) => p.user))
  })

  it('asks again only the items answered upstream_unavailable or overloaded, a bounded number of times', async () => {
    const { checker, sent, pauses } = checkerWith((pairs) =>
      pairs.map((p) =>
        p.user.endsWith('2') ? { allowed: false, reason: 'overloaded', message: 'busy' } : ok(p),
      ),
    )
    const results = await checker.check([pair(A, 1), pair(A, 2), pair(A, 3)])
    expect(sent.map((s) => s.length)).toEqual([3, 1, 1])
    expect(pauses.length).toBe(2)
    expect(results.map((r) => r.reason)).toEqual(['no_consent', 'overloaded', 'no_consent'])
  })

  it('retries a whole request the gate answered 503 after its Retry-After', async () => {
    const { checker, pauses } = checkerWith((pairs, call) => {
      if (call === 1)
        throw new ConsentGateError({ status: 503, code: 'overloaded', message: 'busy', retryAfterSeconds: 2 })
      return pairs.map(ok)
    })
    const results = await checker.check([pair(A, 1)])
    expect(pauses).toEqual([2000])
    expect(results[0]!.reason).toBe('no_consent')
  })

  it('counts an unreachable gate as undetermined once its retries are spent', async () => {
    const { checker, sent } = checkerWith(() => {
      throw new ConsentGateError({ code: 'gate_unreachable', message: 'connection refused' })
    })
    const results = await checker.check([pair(A, 1)])
    expect(sent.length).toBe(3)
    expect(results[0]).toEqual({ allowed: false, reason: 'gate_unreachable', message: 'connection refused' })
  })

  it('stops the run on a refusal no retry mends', async () => {
    const { checker, sent } = checkerWith(() => {
      throw new ConsentGateError({
        status: 401,
        code: 'unauthorized',
        message: 'missing or unknown bearer token',
      })
    })
    await expect(checker.check([pair(A, 1)])).rejects.toThrow(FatalGateError)
    expect(sent.length).toBe(1)
  })

  it('keeps at most `concurrency` requests in flight', async () => {
    let inFlight = 0
    let most = 0
    const { checker } = checkerWith(async (pairs) => {
      most = Math.max(most, ++inFlight)
      await new Promise((r) => setTimeout(r, 5))
      inFlight--
      return pairs.map(ok)
    })
    await Promise.all(Array.from({ length: 6 }, (_, i) => checker.check([pair(A, i)])))
    expect(most).toBe(2)
  })
})

describe('byBusiness', () => {
  it('is stable within a business', () => {
    expect(byBusiness([pair(B, 0), pair(A, 1), pair(B, 2), pair(A, 3)])).toEqual([1, 3, 0, 2])
  })
})
