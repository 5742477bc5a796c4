import type { Clock } from '../lib/clock.js'

// Hand-written rather than cockatiel's circuitBreaker: cockatiel reads Date.now() directly (tests could not
// move its time) and cannot say how long until its next probe, which the gate must send as Retry-After.

export type CircuitState = 'closed' | 'open' | 'half_open'

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (BREAKER_FAILURE_THRESHOLD, default 5). 0 disables the breaker (always closed). */
  failureThreshold: number
  /** How long the circuit stays open before one half-open probe is let through (BREAKER_OPEN_MS, default 5000). */
  openMs: number
  clock: Clock
  /** Called on every state change (metrics, logs). */
  onStateChange?: (state: CircuitState) => void
}

export interface CircuitBreaker {
  /** 'open' turns into 'half_open' lazily, when read after openMs. */
  readonly state: CircuitState
  /** May a request go now? closed: yes. open: no. half_open: yes for exactly one probe at a time (others: no) until that probe reports. */
  tryAcquire(): boolean
  /** Milliseconds until the next probe may go (0 unless open; when a half-open probe is in flight, openMs). */
  msUntilProbe(): number
  /** A probe success closes; in closed, resets the failure count. */
  success(): void
  /** Counts; at the threshold opens; a half-open probe failure re-opens for another openMs. */
  failure(): void
}

export function createCircuitBreaker(opts: CircuitBreakerOptions): CircuitBreaker {
  const { failureThreshold, openMs, clock, onStateChange } = opts
  const enabled = failureThreshold > 0
  let state: CircuitState = 'closed'
  let failures = 0
  let openedAt = 0
  let probeInFlight = false

  // Only ever called with a state other than the current one, so each call is one transition.
  const moveTo = (next: CircuitState) => {
    state = next
    probeInFlight = false
    onStateChange?.(next)
  }

  // No timer flips open to half_open: the first reader after openMs does, so an idle gate costs nothing.
  const current = (): CircuitState => {
    if (state === 'open' && clock.now() - openedAt >= openMs) moveTo('half_open')
    return state
  }

  const open = () => {
    openedAt = clock.now()
    failures = 0
    moveTo('open')
  }

  return {
    get state() {
      return current()
    },
    tryAcquire() {
      const s = current()
      if (s === 'closed') return true
      if (s === 'open' || probeInFlight) return false
      probeInFlight = true
      return true
    },
    msUntilProbe() {
      const s = current()
      if (s === 'open') return Math.max(0, openedAt + openMs - clock.now())
      // The probe's answer is not known yet; if it fails, the next one is a full openMs away.
      return s === 'half_open' && probeInFlight ? openMs : 0
    },
    success() {
      const s = current()
      if (s === 'half_open') moveTo('closed')
      // Only consecutive failures count, so any answer in closed starts the count again.
      if (s !== 'open') failures = 0
      // In open, a late success of a request sent before the circuit opened proves too little: ignore it.
    },
    failure() {
      if (!enabled) return
      const s = current()
      if (s === 'half_open') open()
      else if (s === 'closed' && ++failures >= failureThreshold) open()
      // In open, late failures of requests sent earlier must not push the probe further away.
    },
  }
}
