import { describe, expect, it } from 'vitest'
import { retryDelayMs } from '../../../src/cli/precheck/retry.js'

const POLICY = { retries: 5, baseMs: 1000, maxMs: 30_000 }

describe('retryDelayMs', () => {
  it("waits the gate's Retry-After when it gives one, whatever the attempt", () => {
    expect(retryDelayMs(1, 3, POLICY, () => 0)).toBe(3000)
    expect(retryDelayMs(4, 0, POLICY, () => 1)).toBe(0)
  })

  it('caps a Retry-After at maxMs, so one header cannot park a run', () => {
    expect(retryDelayMs(1, 3600, POLICY)).toBe(30_000)
  })

  it('backs off exponentially with jitter in [half, full] without one', () => {
    expect(retryDelayMs(1, undefined, POLICY, () => 0)).toBe(500)
    expect(retryDelayMs(1, undefined, POLICY, () => 1)).toBe(1000)
    expect(retryDelayMs(3, undefined, POLICY, () => 1)).toBe(4000)
    expect(retryDelayMs(10, undefined, POLICY, () => 1)).toBe(30_000)
  })
})
