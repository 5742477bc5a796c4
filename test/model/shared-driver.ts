import fc from 'fast-check'
import { createManualClock } from '../../src/lib/clock.js'
import type { KaleyraSimulator } from '../../src/simulator/simulator.js'
import { T0, startHarness, type Harness } from '../helpers/gate.js'
import { freshPrefix, ownRedis } from '../helpers/redis.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { waitFor } from '../helpers/wait.js'
import * as events from './events.js'
import { MEMORY_MS } from './facts.js'
import { modelForEnv, type ConsentModel, PAIRS, pairIndex, pairName, pairOf } from './model.js'
import { describeOp, type Op, type RecordSpec } from './ops.js'
import { BASE_ENV, countRouteAllows } from './setup.js'

/**
 * The model test in shared mode: two real gates on one Redis (a redis-server of the test's own, so it can be
 * stopped), gate B reaching it through a TCP proxy that can freeze its connections without closing them.
 *
 * Oracle. While the fleet is healthy (no fault yet in the run), the two gates are judged as ONE gate by the
 * reference model (model.ts): every fact told to either gate is told to the model, every Kaleyra answer either
 * gate got is a fact of the model, and every allow must pass ConsentModel.judge. After the first fault of a run
 * (Redis stopped, which also loses its keys, or B's connections frozen, which loses bus messages) the exact oracle
 * no longer fits: which events reached which gate, and what Redis still holds, is what the documented bounds
 * leave open. From then on, for the rest of the run, each allow is held to a weaker per-gate property:
 *   (w1) it does not rest on a fact older than a deny or eviction told to the SAME gate (a tie loses too when the
 *        allow rests on a reply: on a tie a deny wins);
 *   (w2) the consent it shows is not expired on the gate's clock, and it is a granted accept;
 *   (w3) it does not rest on a fact older than 7 days + CACHE_MAX_TTL_SECONDS (a reply that old never grants).
 * The timing bounds of degraded mode (cached allows dropped at degradation, new ones cached at most 1 s, accepts
 * older than EVENT_TRUST_WINDOW_SECONDS not proven) are NOT asserted here.
 */

export type GateIx = 0 | 1
export type SharedOp =
  | { op: 'at'; gate: GateIx; what: Op }
  | { op: 'kaleyra'; pair: number; record: RecordSpec }
  | { op: 'advance'; ms: number }
  /** Stops Redis (its keys are lost) when it runs, starts it again when it is stopped. */
  | { op: 'redis' }
  /** Freezes gate B's Redis connections (subscription and commands) when they flow, thaws them when frozen. */
  | { op: 'freeze' }

export const describeShared = (o: SharedOp): string =>
  o.op === 'at'
    ? `${o.gate === 0 ? 'A' : 'B'}: ${describeOp(o.what)}`
    : o.op === 'kaleyra' || o.op === 'advance'
      ? describeOp(o)
      : o.op === 'redis'
        ? 'redis stop/start'
        : 'freeze/thaw B'

export interface SharedStats {
  runs: number
  commands: number
  checks: number
  exactAllows: number
  weakAllows: number
  /** Allows the front door sent (src/http/front-door.ts), of the exact and weak ones. */
  doorAllows: number
  unavailable: number
  faults: number
}
export const emptySharedStats = (): SharedStats => ({
  runs: 0,
  commands: 0,
  checks: 0,
  exactAllows: 0,
  weakAllows: 0,
  doorAllows: 0,
  unavailable: 0,
  faults: 0,
})

/** A deny or eviction told to one gate, for the weak oracle. */
interface WeakFact {
  p: number
  atMs: number
  note: string
}

/**
 * The bus is fire-and-forget after a webhook's answer. While healthy, after each command that may publish, the
 * driver waits until the OTHER gate's /readyz says connected (it hears its own heartbeat through the same
 * subscription), then BUS_SETTLE_MS: pub/sub on loopback delivers in well under 1 ms, so 40 ms is a wide bound
 * that keeps the model's notion of what each gate was told exact.
 */
const BUS_SETTLE_MS = 40
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const SHARED_ENV: Record<string, string> = {
  ...BASE_ENV,
  CACHE_MAX_ENTRIES: '1000',
  // Wider than the default 50 ms, so a busy machine does not turn a healthy Redis into a "cannot say".
  REDIS_TIMEOUT_MS: '250',
}

export class SharedDriver {
  readonly model: ConsentModel
  readonly stats = emptySharedStats()
  last: any
  private gates: Harness[] = []
  private readonly clocks = [createManualClock(T0), createManualClock(T0)]
  private readonly weak: WeakFact[][] = [[], []]
  private readonly deliveries: events.Delivery[] = []
  private readonly reports: events.Report[] = []
  private readonly violations: string[] = []
  /** Set at the first fault: from then on the weak oracle judges. */
  private faultAt: number | undefined
  private redisDown = false
  private frozen = false
  private redisRestarts = 0
  private ids = 0
  private seen = 0
  /** Allows Fastify's route sent, on either gate (stats.doorAllows: the others). */
  private readonly routeAllows = { n: 0 }
  private redis!: { url: string; stop(): Promise<void> }
  private proxy!: Awaited<ReturnType<typeof startTcpProxy>>
  private readonly env: Record<string, string>

  private constructor(
    private readonly sim: KaleyraSimulator,
    private readonly port: number,
  ) {
    this.env = { ...SHARED_ENV, REDIS_KEY_PREFIX: freshPrefix() }
    this.model = modelForEnv(this.env)
  }

  /** `redis` runs on `port` (the test's own); it is left running when the run ends. */
  static async start(
    sim: KaleyraSimulator,
    redis: { url: string; stop(): Promise<void> },
    port: number,
    initial: RecordSpec[],
  ): Promise<SharedDriver> {
    sim.clear()
    sim.clearFault()
    sim.resetRequests()
    const d = new SharedDriver(sim, port)
    d.redis = redis
    initial.forEach((record, p) => events.setKaleyra(d.model, sim, p, record))
    d.proxy = await startTcpProxy({ host: '127.0.0.1', port })
    const urls = [redis.url, `redis://127.0.0.1:${d.proxy.port}`]
    d.gates = await Promise.all(
      urls.map((url, i) =>
        startHarness({
          sim,
          env: { ...d.env, REDIS_URL: url },
          logLevel: 'silent',
          deps: { clock: d.clocks[i]! },
          beforeListen: (gate) => countRouteAllows(gate, d.routeAllows),
        }),
      ),
    )
    for (const g of d.gates) await waitFor(async () => (await mode(g)) === 'connected', 10_000)
    d.stats.runs = 1
    return d
  }

  /** Closes the gates (not the simulator, which is shared) and the proxy; Redis is left running. */
  async stop(): Promise<{ url: string; stop(): Promise<void> }> {
    await Promise.all(this.gates.map((g) => g.gate.close()))
    const allows = this.stats.exactAllows + this.stats.weakAllows
    this.stats.doorAllows = Math.max(0, allows - this.routeAllows.n)
    await this.proxy.close()
    if (this.redisDown) this.redis = await ownRedis(this.port)
    return this.redis
  }

  async run(o: SharedOp): Promise<void> {
    await this.apply(o)
    this.stats.commands++
    if (this.violations.length > 0) throw new Error(this.violations.join('\n\n'))
  }

  private target(gate: GateIx): events.Target {
    // gen: a decision_id the gate may not have seen (another gate, or Redis lost it) is not surely deduped.
    return { model: this.model, url: this.gates[gate]!.url, gen: gate + 2 * this.redisRestarts }
  }

  private get healthy() {
    return this.faultAt === undefined
  }

  private async apply(o: SharedOp): Promise<void> {
    switch (o.op) {
      case 'kaleyra':
        return events.setKaleyra(this.model, this.sim, o.pair, o.record)
      case 'advance':
        for (const c of this.clocks) c.advance(o.ms)
        this.model.advance(o.ms)
        return
      case 'redis':
        return this.toggleRedis()
      case 'freeze':
        return this.toggleFreeze()
      case 'at':
        await this.at(o.gate, o.what)
        if (this.healthy) await this.settleBus(o.gate)
        return
    }
  }

  private async at(gate: GateIx, o: Op): Promise<void> {
    const t = this.target(gate)
    switch (o.op) {
      case 'check':
        return this.check(gate, o.pair, o.fresh)
      case 'reply': {
        const d = events.replyOf(o, this.model.nowMs, `wamid.shared.${++this.ids}`)
        this.deliveries.push(d)
        if (!d.consent) this.tellWeak(gate, d.p, Math.min(d.stampMs, this.model.nowMs), d.note)
        return events.deliver(t, d, o.surface, o.copies, false)
      }
      case 'replay': {
        const d = this.deliveries[o.pick % Math.max(1, this.deliveries.length)]
        if (!d) return
        // A replayed reject may be deduped: it is no sure fact for the weak oracle.
        return events.deliver(t, d, o.surface, 1, true)
      }
      case 'outcome': {
        const r = events.reportOf(o, t, `shared-decision-${++this.ids}`)
        this.reports.push(r)
        if (o.errorCode !== undefined) this.tellWeak(gate, o.pair, this.model.nowMs, describeOp(o))
        return events.report(t, r, true)
      }
      case 'reoutcome': {
        const r = this.reports[o.pick % Math.max(1, this.reports.length)]
        return r && events.report(t, r, false)
      }
      case 'evict': {
        const { business } = pairOf(o.pair)
        for (let p = 0; p < PAIRS; p++) {
          const mine =
            o.scope === 'all' || (o.scope === 'business' ? pairOf(p).business === business : p === o.pair)
          if (mine) this.tellWeak(gate, p, this.model.nowMs, describeOp(o))
        }
        return events.evict(t, o.scope, o.pair)
      }
      default:
        throw new Error(`not a gate op: ${describeOp(o)}`)
    }
  }

  private tellWeak(gate: GateIx, p: number, atMs: number, note: string) {
    this.weak[gate]!.push({ p, atMs, note })
  }

  private async settleBus(from: GateIx): Promise<void> {
    const other = this.gates[1 - from]!
    await waitFor(async () => (await mode(other)) === 'connected', 2000).catch(() => {
      this.violations.push(`gate ${from === 0 ? 'B' : 'A'} not connected while the fleet is healthy`)
    })
    await sleep(BUS_SETTLE_MS)
  }

  private async toggleRedis(): Promise<void> {
    this.fault()
    if (!this.redisDown) {
      await this.redis.stop()
      this.redisDown = true
      // A dropped connection: both gates say degraded at once (bounded wait, then carry on either way).
      for (const g of this.gates) await waitFor(async () => (await mode(g)) === 'degraded', 3000).catch(noop)
      return
    }
    this.redis = await ownRedis(this.port)
    this.redisDown = false
    this.redisRestarts++
    if (!this.frozen)
      for (const g of this.gates) await waitFor(async () => (await mode(g)) === 'connected', 8000).catch(noop)
  }

  private async toggleFreeze(): Promise<void> {
    this.fault()
    if (!this.frozen) {
      this.proxy.freeze()
      this.frozen = true
      return
    }
    this.proxy.thaw()
    this.frozen = false
    if (!this.redisDown)
      await waitFor(async () => (await mode(this.gates[1]!)) === 'connected', 8000).catch(noop)
  }

  private fault() {
    this.faultAt ??= this.model.seq
    this.stats.faults++
  }

  // --- checks -----------------------------------------------------------------------------------------------

  private async check(gate: GateIx, p: number, fresh: boolean): Promise<void> {
    const { business, user } = pairOf(p)
    const label = `${gate === 0 ? 'A' : 'B'}: check ${pairName(p)}${fresh ? ' fresh' : ''}`
    const startSeq = this.model.seq
    const res = await this.gates[gate]!.canCall(user, fresh ? '&fresh=true' : '', business)
    this.observe()
    const endSeq = this.model.seq
    this.stats.checks++
    this.last = res.body
    if (res.status === 503) {
      this.stats.unavailable++
      return
    }
    if (res.status !== 200) {
      this.violations.push(`${label}: status ${res.status} ${JSON.stringify(res.body)}`)
      return
    }
    if (res.body.allowed !== true) return
    if (this.healthy) {
      this.stats.exactAllows++
      const why = this.model.judge(p, res.body, startSeq, endSeq)
      if (why !== undefined)
        this.violations.push(
          `ILLEGAL ALLOW (healthy fleet, exact model): ${label} (asked #${startSeq}, answered #${endSeq}, ` +
            `clock ${new Date(this.model.nowMs).toISOString()})\n  answer: ${JSON.stringify(res.body)}\n` +
            `  why: ${why}\n  facts told to the fleet for the pair:\n${this.model.describe(p)}`,
        )
      return
    }
    this.stats.weakAllows++
    const why = this.weakJudge(gate, p, res.body)
    if (why !== undefined)
      this.violations.push(
        `ILLEGAL ALLOW (after a fault at #${this.faultAt}, weak oracle): ${label} (clock ` +
          `${new Date(this.model.nowMs).toISOString()})\n  answer: ${JSON.stringify(res.body)}\n  why: ${why}\n` +
          `  facts told to the fleet for the pair:\n${this.model.describe(p)}`,
      )
  }

  private weakJudge(gate: GateIx, p: number, body: any): string | undefined {
    const now = this.model.nowMs
    const c = body.consent
    if (!c || body.reason !== 'consent_granted' || c.response !== 'accept' || !c.can_perform_action)
      return '(w2) an allow that is not a granted accept'
    if (c.expires_at === null ? !c.is_permanent : Date.parse(c.expires_at) <= now)
      return '(w2) the consent is expired'
    const factMs = Date.parse(body.checked_at)
    if (now - factMs > MEMORY_MS + this.model.opts.maxTtlMs)
      return '(w3) it rests on a fact older than 7 days + CACHE_MAX_TTL_SECONDS'
    const newer = this.weak[gate]!.filter(
      (w) => w.p === p && (w.atMs > factMs || (w.atMs === factMs && body.source === 'event')),
    )
    if (newer.length > 0)
      return (
        `(w1) it rests on a fact at ${body.checked_at}, older than a deny/eviction told to the same gate: ` +
        newer.map((w) => `${new Date(w.atMs).toISOString()} ${w.note}`).join(' | ')
      )
    return undefined
  }

  /** New Kaleyra requests (checks run one at a time, so each was answered at once): facts of the fleet. */
  private observe(): void {
    const all = this.sim.requests
    for (; this.seen < all.length; this.seen++) {
      const q = all[this.seen]!
      const p = pairIndex(q.business[0] ?? '', q.user[0] ?? '')
      if (q.business.length !== 1 || q.user.length !== 1 || p < 0) {
        this.violations.push(`a Kaleyra request for other than one known pair: ${JSON.stringify(q.query)}`)
        continue
      }
      this.model.tellKaleyra(p, { seq: this.model.next(), atMs: this.model.nowMs })
    }
  }
}

const noop = () => undefined
const mode = async (g: Harness): Promise<string> => (await g.get('/readyz')).body?.shared?.mode

// --- commands -------------------------------------------------------------------------------------------------

const DAY_S = 86_400
const pairArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constant(1) },
  { weight: 1, arbitrary: fc.constant(3) },
  { weight: 2, arbitrary: fc.nat({ max: PAIRS - 1 }) },
)
const ageS = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -120, max: 60 }) },
  { weight: 2, arbitrary: fc.integer({ min: 60, max: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 7 * DAY_S - 600, max: 8 * DAY_S }) },
)
const gateArb = fc.constantFrom<GateIx>(0, 1)

const checkOp: fc.Arbitrary<Op> = fc.record({
  op: fc.constant('check' as const),
  pair: pairArb,
  fresh: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
})
const replyOp: fc.Arbitrary<Op> = fc.record({
  op: fc.constant('reply' as const),
  pair: pairArb,
  surface: fc.constantFrom('kaleyra' as const, 'meta' as const),
  response: fc.constantFrom('accept' as const, 'accept' as const, 'reject' as const),
  permanent: fc.boolean(),
  expiresInS: fc.integer({ min: 60, max: 3 * DAY_S }),
  ageS,
  copies: fc.constant(1 as const),
})
const outcomeOp: fc.Arbitrary<Op> = fc
  .record({
    pair: pairArb,
    outcome: fc.constantFrom('answered' as const, 'unanswered' as const, 'failed' as const),
    errorCode: fc.constantFrom(undefined, 138006 as const, 138012 as const),
    withId: fc.boolean(),
  })
  .map(({ errorCode, ...o }): Op => ({
    op: 'outcome',
    ...o,
    ...(o.outcome === 'failed' && errorCode !== undefined && { errorCode }),
  }))
const evictOp: fc.Arbitrary<Op> = fc.record({
  op: fc.constant('evict' as const),
  scope: fc.constantFrom('pair' as const, 'pair' as const, 'business' as const, 'all' as const),
  pair: pairArb,
})
const replayOp: fc.Arbitrary<Op> = fc.record({
  op: fc.constant('replay' as const),
  pick: fc.nat(),
  surface: fc.constantFrom('kaleyra' as const, 'meta' as const),
})
const at = (what: fc.Arbitrary<Op>) =>
  fc.record({ op: fc.constant('at' as const), gate: gateArb, what }) as fc.Arbitrary<SharedOp>

export function sharedRecordOps(recordSpec: fc.Arbitrary<RecordSpec>): fc.Arbitrary<SharedOp>[] {
  return [
    at(checkOp),
    at(checkOp),
    at(checkOp),
    at(checkOp),
    at(replyOp),
    at(replyOp),
    at(replyOp),
    at(replayOp),
    at(outcomeOp),
    at(evictOp),
    fc.record({ op: fc.constant('kaleyra' as const), pair: pairArb, record: recordSpec }),
    fc.record({ op: fc.constant('kaleyra' as const), pair: pairArb, record: recordSpec }),
    fc.record({
      op: fc.constant('advance' as const),
      ms: fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
        { weight: 2, arbitrary: fc.constantFrom(1_000, 30_000, 60_000, 300_000, 301_000) },
        { weight: 2, arbitrary: fc.integer({ min: 5_000, max: 600_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 3_600_000, max: 8 * DAY_S * 1000 }) },
      ),
    }),
    at(checkOp),
    at(replyOp),
    at(outcomeOp),
    // One entry of 17 for both faults: about 60% of 15-command runs see one (and leave the exact oracle there).
    fc.constantFrom({ op: 'redis' as const }, { op: 'freeze' as const }),
  ]
}

export class SharedCommand implements fc.AsyncCommand<SharedDriver, SharedDriver> {
  constructor(readonly op: SharedOp) {}
  check = () => true
  run = (_m: SharedDriver, d: SharedDriver) => d.run(this.op)
  toString = () => describeShared(this.op)
}
