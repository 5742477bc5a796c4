import { describe, expect, it } from 'vitest'
import { fleetTolerances } from '../../../src/shared/fleet-budget.js'

describe('fleetTolerances', () => {
  it('gives live checks a burst of the whole rate and bulk work its share of it', () => {
    expect(fleetTolerances(10, 0.5)).toEqual({ intervalMs: 100, live: 900, bulk: 400 })
    expect(fleetTolerances(10, 1)).toEqual({ intervalMs: 100, live: 900, bulk: 900 })
    // However small the share, bulk may still start at the plain rate.
    expect(fleetTolerances(1, 0.1)).toEqual({ intervalMs: 1000, live: 0, bulk: 0 })
  })
})
