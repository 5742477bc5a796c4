import { afterEach, describe, it, expect, vi } from 'vitest'
import pino from 'pino'
import { createManualClock } from '../../../../src/lib/clock.js'
import { UpstreamError } from '../../../../src/upstream/errors.js'
import { createPhoneNumbers } from '../../../../src/upstream/meta/phone-numbers.js'

const A = '+918000000001'
const B = '+918000000002'
const C = '+918000000003'

/** A discovery the test answers by hand. */
function manualDiscovery() {
  const calls: { resolve(map: Map<string, string>): void; reject(err: unknown): void }[] = []
  const discover = () =>
    new Promise<Map<string, string>>((resolve, reject) => {
      calls.push({ resolve, reject })
    })
  return { discover, calls }
}

const logger = pino({ level: 'silent' })

describe('createPhoneNumbers', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('knows only the fixed numbers without discovery', async () => {
    const numbers = createPhoneNumbers({ fixed: new Map([[A, '1']]), intervalMs: 1000, logger })
    await numbers.start()
    await numbers.refresh()
    expect(numbers.idOf(A)).toBe('1')
    expect(numbers.idOf(B)).toBeUndefined()
    expect(numbers.size).toBe(1)
    numbers.close()
  })

  it('adds discovered numbers, the fixed ones winning', async () => {
    const numbers = createPhoneNumbers({
      fixed: new Map([[A, '1']]),
      discover: async () =>
        new Map([
          [A, '99'],
          [B, '2'],
        ]),
      intervalMs: 60_000,
      logger,
    })
    await numbers.start()
    expect(numbers.idOf(A)).toBe('1')
    expect(numbers.idOf(B)).toBe('2')
    expect(numbers.size).toBe(2)
    numbers.close()
  })

  it('keeps the last good map when a refresh fails, and reports the failure', async () => {
    const errors: unknown[] = []
    let answer: () => Map<string, string> = () => new Map([[B, '2']])
    const numbers = createPhoneNumbers({
      fixed: new Map(),
      discover: async () => answer(),
      intervalMs: 60_000,
      logger,
      onError: (err) => errors.push(err),
    })
    await numbers.start()
    answer = () => {
      throw new UpstreamError('error', 'Meta answered HTTP 500')
    }
    await expect(numbers.refresh()).rejects.toThrow('Meta answered HTTP 500')
    expect(numbers.idOf(B)).toBe('2')
    expect(errors).toHaveLength(1)
    answer = () => new Map([[C, '3']])
    await numbers.refresh()
    expect(numbers.idOf(B)).toBeUndefined()
    expect(numbers.idOf(C)).toBe('3')
    numbers.close()
  })

  it('starts with the fixed map when the first discovery fails, never throwing', async () => {
    const errors: unknown[] = []
    const numbers = createPhoneNumbers({
      fixed: new Map([[A, '1']]),
      discover: () =>
        Promise.reject(new UpstreamError('auth_failed', 'Meta refused the access token (code 190)')),
      intervalMs: 60_000,
      logger,
      onError: (err) => errors.push(err),
    })
    await numbers.start()
    expect(errors).toHaveLength(1)
    expect(numbers.idOf(A)).toBe('1')
    numbers.close()
  })

  it('stops waiting for a slow first discovery, and takes it when it lands', async () => {
    vi.useFakeTimers()
    const { discover, calls } = manualDiscovery()
    const numbers = createPhoneNumbers({
      fixed: new Map(),
      discover,
      intervalMs: 60_000,
      startTimeoutMs: 5000,
      logger,
    })
    let started = false
    const start = numbers.start().then(() => (started = true))
    await vi.advanceTimersByTimeAsync(4999)
    expect(started).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    await start
    expect(numbers.idOf(B)).toBeUndefined()
    calls[0]!.resolve(new Map([[B, '2']]))
    await vi.advanceTimersByTimeAsync(0)
    expect(numbers.idOf(B)).toBe('2')
    numbers.close()
  })

  it('refreshes every intervalMs, one discovery at a time, until closed', async () => {
    vi.useFakeTimers()
    const clock = createManualClock()
    const { discover, calls } = manualDiscovery()
    const numbers = createPhoneNumbers({ fixed: new Map(), discover, intervalMs: 1000, clock, logger })
    const start = numbers.start()
    expect(calls).toHaveLength(1)
    calls[0]!.resolve(new Map([[A, '1']]))
    await start
    await vi.advanceTimersByTimeAsync(1000)
    expect(calls).toHaveLength(2)
    // A tick while the discovery is still out asks nothing more.
    await vi.advanceTimersByTimeAsync(1000)
    expect(calls).toHaveLength(2)
    calls[1]!.reject(new UpstreamError('timeout', 'Meta did not answer in time'))
    await vi.advanceTimersByTimeAsync(0)
    expect(numbers.idOf(A)).toBe('1')
    await vi.advanceTimersByTimeAsync(1000)
    expect(calls).toHaveLength(3)
    calls[2]!.resolve(new Map([[B, '2']]))
    await vi.advanceTimersByTimeAsync(0)
    expect(numbers.idOf(B)).toBe('2')
    numbers.close()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(calls).toHaveLength(3)
  })

  it('shares one discovery between concurrent refreshes', async () => {
    const { discover, calls } = manualDiscovery()
    const numbers = createPhoneNumbers({ fixed: new Map(), discover, intervalMs: 60_000, logger })
    const both = Promise.all([numbers.refresh(), numbers.refresh()])
    expect(calls).toHaveLength(1)
    calls[0]!.resolve(new Map([[A, '1']]))
    await both
    expect(numbers.idOf(A)).toBe('1')
  })

  it('holds no timer open: the interval is unref-ed', async () => {
    vi.useFakeTimers()
    const spy = vi.spyOn(globalThis, 'setInterval')
    const numbers = createPhoneNumbers({
      fixed: new Map(),
      discover: async () => new Map(),
      intervalMs: 1000,
      logger,
    })
    await numbers.start()
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout
    expect(timer.hasRef()).toBe(false)
    numbers.close()
  })
})
