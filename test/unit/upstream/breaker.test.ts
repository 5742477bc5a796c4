import { describe, it, expect, vi } from 'vitest'
import { createManualClock } from '../../../src/lib/clock.js'
import { createCircuitBreaker, type CircuitState } from '../../../src/upstream/breaker.js'

function setup(failureThreshold = 3, openMs = 5000) {
  const clock = createManualClock()
  const onStateChange = vi.fn<(state: CircuitState) => void>()
  const breaker = createCircuitBreaker({ failureThreshold, openMs, clock, onStateChange })
  const fail = (n: number) => {
    for (let i = 0; i < n; i++) breaker.failure()
  }
  return { clock, breaker, onStateChange, fail }
}

describe('createCircuitBreaker', () => {
  it('stays closed after threshold - 1 consecutive failures', () => {
    const { breaker, fail } = setup(3)
    fail(2)
    expect(breaker.state).toBe('closed')
    expect(breaker.tryAcquire()).toBe(true)
    expect(breaker.msUntilProbe()).toBe(0)
  })

  it('opens after exactly threshold consecutive failures', () => {
    const { breaker, fail } = setup(3)
    fail(3)
    expect(breaker.state).toBe('open')
  })

  it('starts counting again after a success in between', () => {
    const { breaker, fail } = setup(3)
    fail(2)
    breaker.success()
    fail(2)
    expect(breaker.state).toBe('closed')
    breaker.failure()
    expect(breaker.state).toBe('open')
  })

  it('refuses requests while open and counts down to the probe with the clock', () => {
    const { clock, breaker, fail } = setup(3, 5000)
    fail(3)
    expect(breaker.tryAcquire()).toBe(false)
    expect(breaker.msUntilProbe()).toBe(5000)
    clock.advance(1200)
    expect(breaker.msUntilProbe()).toBe(3800)
    clock.advance(3799)
    expect(breaker.state).toBe('open')
    expect(breaker.tryAcquire()).toBe(false)
    expect(breaker.msUntilProbe()).toBe(1)
  })

  it('lets exactly one probe through after openMs', () => {
    const { clock, breaker, fail } = setup(3, 5000)
    fail(3)
    clock.advance(5000)
    expect(breaker.state).toBe('half_open')
    expect(breaker.msUntilProbe()).toBe(0)
    expect(breaker.tryAcquire()).toBe(true)
    expect(breaker.tryAcquire()).toBe(false)
    expect(breaker.msUntilProbe()).toBe(5000)
  })

  it('closes when the probe succeeds', () => {
    const { clock, breaker, fail } = setup(3)
    fail(3)
    clock.advance(5000)
    breaker.tryAcquire()
    breaker.success()
    expect(breaker.state).toBe('closed')
    expect(breaker.tryAcquire()).toBe(true)
    expect(breaker.tryAcquire()).toBe(true)
    // The failure count starts from zero again.
    fail(2)
    expect(breaker.state).toBe('closed')
  })

  it('re-opens for a full openMs when the probe fails', () => {
    const { clock, breaker, fail } = setup(3, 5000)
    fail(3)
    clock.advance(7000)
    expect(breaker.tryAcquire()).toBe(true)
    breaker.failure()
    expect(breaker.state).toBe('open')
    expect(breaker.tryAcquire()).toBe(false)
    expect(breaker.msUntilProbe()).toBe(5000)
    clock.advance(4999)
    expect(breaker.state).toBe('open')
    clock.advance(1)
    expect(breaker.state).toBe('half_open')
  })

  it('ignores late failures while open: they do not push the probe further away', () => {
    const { clock, breaker, fail } = setup(3, 5000)
    fail(3)
    clock.advance(2000)
    fail(5)
    expect(breaker.msUntilProbe()).toBe(3000)
  })

  it('never opens with threshold 0', () => {
    const { breaker, fail, onStateChange } = setup(0)
    fail(1000)
    expect(breaker.state).toBe('closed')
    expect(breaker.tryAcquire()).toBe(true)
    expect(breaker.msUntilProbe()).toBe(0)
    expect(onStateChange).not.toHaveBeenCalled()
  })

  it('reports each transition once, with the new state, in order', () => {
    const { clock, breaker, fail, onStateChange } = setup(2)
    fail(2) // closed -> open
    fail(3) // already open: no event
    clock.advance(5000)
    void breaker.state // open -> half_open, observed lazily
    void breaker.state
    breaker.tryAcquire()
    breaker.failure() // half_open -> open
    clock.advance(5000)
    breaker.tryAcquire() // open -> half_open
    breaker.success() // half_open -> closed
    breaker.success()
    expect(onStateChange.mock.calls).toEqual([['open'], ['half_open'], ['open'], ['half_open'], ['closed']])
  })
})
