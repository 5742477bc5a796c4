import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BUSINESS, startHarness, type Harness } from '../helpers/gate.js'
import { kaleyraBody, post, replyMessage } from '../helpers/webhooks.js'

/**
 * One user known by a number and a BSUID, told to a real gate over HTTP in random orders: replies naming the number,
 * the BSUID or both (the only way the gate learns they are one user), dated up to 3 s back (close times and ties make the orders that matter), and checks
 * by either identity in between. Kaleyra holds nothing, so every yes rests on a reply. The rule, as the gate can
 * know it: a yes for an identity needs the newest reply it could know of to be an accept, where "could know" is every
 * reply once one of them has linked the identities, and before that the replies naming the identity asked.
 */

const NUMBER = '+919000000001'
const BSUID = 'IN.13491208655302741918'
const BEARER = 'model-identities-callback-token'
const SEED = Number(process.env.MODEL_SEED ?? 20_261_127)
const RUNS = Number(process.env.MODEL_IDENTITY_RUNS ?? 500)

type Names = 'number' | 'bsuid' | 'both'
type Command =
  | { kind: 'reply'; names: Names; response: 'accept' | 'reject'; agoMs: number; advanceMs: number }
  | { kind: 'check'; who: 'number' | 'bsuid'; advanceMs: number }

interface Told {
  names: Names
  response: 'accept' | 'reject'
  atMs: number
}

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('reply' as const),
      names: fc.constantFrom<Names>('number', 'bsuid', 'both'),
      response: fc.constantFrom<'accept' | 'reject'>('accept', 'reject'),
      agoMs: fc.integer({ min: 0, max: 3 }).map((s) => s * 1000),
      advanceMs: fc.integer({ min: 0, max: 1 }).map((s) => s * 1000),
    }),
  },
  fc.record({
    kind: fc.constant('check' as const),
    who: fc.constantFrom<'number' | 'bsuid'>('number', 'bsuid'),
    advanceMs: fc.integer({ min: 0, max: 1 }).map((s) => s * 1000),
  }),
)

/**
 * What matters most is what the identities learnt apart before a reply links them: half the runs are two histories
 * (replies naming one identity, and checks), then a reply naming both, then anything; the other half, anything.
 */
const apart = command.filter((c) => c.kind === 'check' || c.names !== 'both')
const link = fc.record({
  kind: fc.constant('reply' as const),
  names: fc.constant('both' as const),
  response: fc.constantFrom<'accept' | 'reject'>('accept', 'reject'),
  agoMs: fc.integer({ min: 0, max: 3 }).map((s) => s * 1000),
  advanceMs: fc.constant(0),
})
const scenario: fc.Arbitrary<Command[]> = fc.oneof(
  fc
    .tuple(fc.array(apart, { minLength: 1, maxLength: 5 }), link, fc.array(command, { maxLength: 5 }))
    .map(([before, linking, after]) => [...before, linking, ...after]),
  fc.array(command, { minLength: 2, maxLength: 10 }),
)

/** The newest reply among these: the later one, a reject on a tie (docs/consent-ordering.md). */
function newest(told: readonly Told[]): Told | undefined {
  let best: Told | undefined
  for (const t of told)
    if (!best || t.atMs > best.atMs || (t.atMs === best.atMs && t.response === 'reject')) best = t
  return best
}

const names = (t: Told, who: 'number' | 'bsuid') => t.names === 'both' || t.names === who

/** Runs the commands; returns how many checks said yes (a run of only noes proves nothing). */
async function run(h: Harness, commands: readonly Command[]): Promise<number> {
  const told: Told[] = []
  let yes = 0
  let id = 0
  for (const c of commands) {
    h.clock.advance(c.advanceMs)
    if (c.kind === 'reply') {
      // A reply cannot come from the future: the gate dates it no later than now, and so does the model.
      const atMs = h.clock.now() - c.agoMs
      const message = replyMessage({
        id: `m${++id}`,
        user: NUMBER,
        noFrom: c.names === 'bsuid',
        ...(c.names !== 'number' && { bsuid: BSUID }),
        at: atMs,
        response: c.response,
        permanent: true,
      })
      const res = await post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, [message]), {
        authorization: `Bearer ${BEARER}`,
      })
      expect(res.status).toBe(200)
      // Epoch seconds on the wire: the model keeps what the gate reads.
      told.push({ names: c.names, response: c.response, atMs: Math.floor(atMs / 1000) * 1000 })
      continue
    }
    const res = await h.canCall(c.who === 'number' ? NUMBER : BSUID)
    expect(res.status).toBe(200)
    if (!res.body.allowed) continue
    yes++
    const linked = told.some((t) => t.names === 'both')
    const known = linked ? told : told.filter((t) => names(t, c.who))
    const last = newest(known)
    expect(last?.response, `a yes by ${c.who} after ${JSON.stringify(told)}`).toBe('accept')
  }
  return yes
}

describe('identities, modelled', () => {
  it('never says yes for either identity past a newer reject it could know of', async () => {
    let allows = 0
    await fc.assert(
      fc.asyncProperty(scenario, async (commands) => {
        const h = await startHarness({
          consents: [],
          logLevel: 'silent',
          env: { WEBHOOK_BEARER_TOKEN: BEARER, CACHE_NEGATIVE_TTL_SECONDS: '3600' },
        })
        try {
          allows += await run(h, commands)
        } finally {
          await h.close()
        }
      }),
      { numRuns: RUNS, seed: SEED },
    )
    // The property is about yeses: the runs must have produced some.
    expect(allows).toBeGreaterThan(RUNS / 10)
  }, 120_000)
})
