import { describe, expectTypeOf, it } from 'vitest'
import type {
  Allowed,
  CanCallQuery,
  CanCallResult,
  Decision,
  Denied,
  DenyReason,
  Priority,
  Undetermined,
} from '../../../src/client/index.js'

/** What a dialer writes: the compiler makes it handle every verdict before it can call. */
function mayDial(result: CanCallResult): boolean {
  switch (result.verdict) {
    case 'allowed':
      return true
    case 'denied':
      return false
    case 'undetermined':
      return false
    default: {
      const unhandled: never = result
      return unhandled
    }
  }
}

describe('CanCallResult', () => {
  it('narrows on verdict: only allowed carries consent_granted, only decisions carry the consent', () => {
    expectTypeOf(mayDial).returns.toEqualTypeOf<boolean>()
    expectTypeOf<Allowed['allowed']>().toEqualTypeOf<true>()
    expectTypeOf<Allowed['reason']>().toEqualTypeOf<'consent_granted'>()
    expectTypeOf<Denied['allowed']>().toEqualTypeOf<false>()
    expectTypeOf<Denied['reason']>().toEqualTypeOf<DenyReason>()
    expectTypeOf<Undetermined['allowed']>().toEqualTypeOf<false>()
    expectTypeOf<Allowed['consent']>().toEqualTypeOf<Decision['consent']>()
    expectTypeOf<Extract<CanCallResult, { allowed: true }>>().toEqualTypeOf<Allowed>()
    const result = {} as CanCallResult
    // @ts-expect-error: consent exists only once the verdict says the gate decided
    void result.consent
    if (result.verdict !== 'undetermined') expectTypeOf(result.consent).toEqualTypeOf<Decision['consent']>()
    else expectTypeOf(result.retry_after_seconds).toEqualTypeOf<number | undefined>()
  })

  it('keeps the gate fields of a decision', () => {
    expectTypeOf<keyof Allowed>().toEqualTypeOf<keyof Decision | 'verdict'>()
    expectTypeOf<keyof Denied>().toEqualTypeOf<keyof Decision | 'verdict'>()
  })

  it('takes the priority parameter of both check routes from the OpenAPI document', () => {
    expectTypeOf<Priority>().toEqualTypeOf<'live' | 'bulk'>()
    expectTypeOf<CanCallQuery['priority']>().toEqualTypeOf<Priority | undefined>()
  })
})
