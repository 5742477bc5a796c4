import { randomUUID } from 'node:crypto'
import { E164 } from '../lib/phone.js'
import { isKeptUser } from '../lib/identity.js'
import { hitSource, type ConsentLookup } from '../consent/lookup.js'
import type { Decision } from '../consent/decide.js'
import type { DecisionSource } from '../schemas/can-call.js'
import type { DecisionRecorder } from '../observability/decision-log.js'
import { decisionJson } from './decision-json.js'

/** The cache holds nothing for the pair (it was just read: the general path need not read it again). */
export const MISSED = Symbol('missed')
/** Input to normalize or refuse: the general path answers, and says what is wrong. */
export const UNREAD = Symbol('unread')

export interface CacheHits {
  /**
   * The answer to a pair asked as the gate keeps it (an E.164 number, a BSUID) whose decision is cached: its JSON,
   * byte for byte what the general path would send. Call record() next, before the next answer.
   */
  answer(business: string, user: string): string | typeof MISSED | typeof UNREAD
  /** The decision log line and counters of the answer just given (the route: after it is sent; the door: at once). */
  record(): void
}

/**
 * A cache hit from the decision itself, with no body, event or closure: objects that checks keep while they wait
 * (misses, batches) teach V8 to allocate them in the old generation, and a hit's garbage then went there too
 * (bench/README.md, hit path). Used by the front door (front-door.ts) and by the route (routes/can-call.ts).
 */
export function createCacheHits(opts: {
  lookup: ConsentLookup
  /** Why the upstream cannot be asked about a business (Meta: not in the phone number map). */
  refuses?: (business: string) => string | undefined
  recorder: DecisionRecorder
}): CacheHits {
  const { lookup, refuses, recorder } = opts
  // The last answer, for record(): kept here rather than in an object per hit. Nothing runs between answer() and
  // record() but, on the route's path, the write of the answer.
  let decision: Decision | undefined
  let source: DecisionSource = 'cache'
  let business = ''
  let user = ''
  let id = ''
  return {
    answer(b, u) {
      if (!E164.test(b) || !isKeptUser(u) || refuses?.(b) !== undefined) return UNREAD
      const d = lookup.cached(b, u)
      if (d === undefined) return MISSED
      decision = d
      source = hitSource(d)
      business = b
      user = u
      id = randomUUID()
      return decisionJson(d, source, b, u, id)
    },
    record() {
      const d = decision
      if (d === undefined) return
      decision = undefined
      recorder.recordHit(d.allowed, d.reason, source, business, user, id)
    },
  }
}
