import { describe, expect, it } from 'vitest'
import { createCircuitBreaker } from '../../../src/upstream/breaker.js'
import { createUpstreamBudget } from '../../../src/upstream/budget.js'
import { UpstreamError } from '../../../src/upstream/errors.js'
import { createDeadline, createUpstreamGuard } from '../../../src/upstream/guard.js'
import { createManualClock } from '../../../src/lib/clock.js'
import { aboutOneRequest } from '../../../src/upstream/meta/wire.js'

/** A guard around a breaker that opens on the first failure, no retries. */
function guarded() {
  const breaker = createCircuitBreaker({ failureThreshold: 1, openMs: 60_000, clock: createManualClock() })
  const budget = createUpstreamBudget({ maxInflight: 4, maxRps: 0, maxQueue: 10 })
  const guard = createUpstreamGuard({ retries: 0, breaker, budget, upstreamName: 'Meta', aboutOneRequest })
  const fail = (err: UpstreamError) =>
    guard.run(() => Promise.reject(err), createDeadline(1000)).catch((e: unknown) => e)
  return { breaker, fail }
}

describe('createUpstreamGuard and the breaker', () => {
  it('keeps the circuit closed on a 400 about one request (Meta code 100: a bad BSUID): Meta answered', async () => {
    const { breaker, fail } = guarded()
    await fail(new UpstreamError('error', 'Meta answered HTTP 400', { status: 400, code: '100' }))
    expect(breaker.state).toBe('closed')
  })

  it.each([
    ['a 500', new UpstreamError('error', 'Meta answered HTTP 500', { status: 500 })],
    ['a 429', new UpstreamError('rate_limited', 'Meta rate-limited the gate', { status: 429 })],
    ['a timeout', new UpstreamError('timeout', 'Meta did not answer in time')],
    [
      'a 403 (code 200: a permission the token lacks)',
      new UpstreamError('error', 'x', { status: 403, code: '200' }),
    ],
  ])('opens it on %s', async (_name, err) => {
    const { breaker, fail } = guarded()
    await fail(err)
    expect(breaker.state).toBe('open')
  })

  it('names the upstream in its own messages', async () => {
    const { fail } = guarded()
    await fail(new UpstreamError('error', 'x', { status: 500 }))
    const open = (await fail(new UpstreamError('error', 'x', { status: 500 }))) as UpstreamError
    expect(open.message).toContain('Meta has been failing')
  })
})
