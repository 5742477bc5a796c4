import type { Scheduler } from 'fast-check'
import { createManualClock } from '../../src/lib/clock.js'
import type { KaleyraSimulator, SimHold, SimRequest } from '../../src/simulator/simulator.js'
import { T0, startHarness, type Harness } from '../helpers/gate.js'
import * as events from './events.js'
import { modelForEnv, type ConsentModel, PAIRS, pairIndex, pairOf } from './model.js'
import { describeOp, type Op, type RecordSpec } from './ops.js'
import { BASE_ENV, countRouteAllows, emptyStats, type Variant } from './setup.js'

interface Check {
  p: number
  label: string
  fresh: boolean
  startSeq: number
  startedAt: number
  done: boolean
  promise: Promise<void>
  /** The Kaleyra requests its own lookup made (as far as the simulator's log can tell). */
  asked: Set<SimRequest>
}

const SETTLE_MS = 3000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Whether `p` settles within `ms`. The timer is cleared either way: a pending one would keep the run's gate alive. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([p.then(() => true), late])
  } finally {
    clearTimeout(timer)
  }
}

/** Runs ops against a real gate and the simulator, telling the model each fact as the gate is told it. */
export class Driver {
  readonly model: ConsentModel
  readonly stats = emptyStats()
  /** The body of the last check that answered. */
  last: any
  private h!: Harness
  private gen = 0
  private ids = 0
  /** Allows Fastify's route sent (stats.doorAllows: the others). */
  private readonly routeAllows = { n: 0 }
  private seen = 0
  private readonly clock = createManualClock(T0)
  private readonly checks = new Set<Check>()
  private readonly holds: SimHold[] = []
  private readonly pending = new Map<SimRequest, { p: number; asked: { seq: number; atMs: number } }>()
  private readonly deliveries: events.Delivery[] = []
  private readonly reports: events.Report[] = []
  private readonly violations: string[] = []
  private readonly env: Record<string, string>

  private constructor(
    private readonly sim: KaleyraSimulator,
    variant: Variant,
    private readonly scheduler?: Scheduler,
  ) {
    this.env = { ...BASE_ENV, ...variant.env }
    // The tiny-memory variant: the gate may drop evidence at any time (a bound the pairs never reach is none).
    const entries = Number(variant.env.CACHE_MAX_ENTRIES ?? Infinity)
    const bound = entries < PAIRS ? entries : undefined
    this.model = modelForEnv(this.env, bound)
  }

  /** A fresh run on a reused simulator: its records (`initial`, one per pair), requests and faults are reset. */
  static async start(
    sim: KaleyraSimulator,
    variant: Variant,
    opts: { scheduler?: Scheduler; initial?: RecordSpec[] } = {},
  ): Promise<Driver> {
    sim.clear()
    sim.clearFault()
    sim.resetRequests()
    const d = new Driver(sim, variant, opts.scheduler)
    opts.initial?.forEach((record, p) => events.setKaleyra(d.model, sim, p, record))
    d.h = await d.startGate()
    d.stats.runs = 1
    return d
  }

  async stop(): Promise<void> {
    for (const hold of this.holds.splice(0)) hold.release()
    await settlesWithin(Promise.allSettled([...this.checks].map((c) => c.promise)), SETTLE_MS)
    await this.h.gate.close()
    this.stats.doorAllows = Math.max(0, this.stats.allows - this.routeAllows.n)
  }

  private get target(): events.Target {
    return { model: this.model, url: this.h.url, gen: this.gen }
  }

  private startGate(): Promise<Harness> {
    return startHarness({
      sim: this.sim,
      env: this.env,
      logLevel: 'silent',
      deps: { clock: this.clock },
      beforeListen: (gate) => countRouteAllows(gate, this.routeAllows),
    })
  }

  /** Runs one op; throws the first illegal answer or broken expectation it met. */
  async run(o: Op): Promise<void> {
    await this.apply(o)
    this.stats.commands++
    if (this.violations.length > 0) throw new Error(this.violations.join('\n\n'))
  }

  private async apply(o: Op): Promise<void> {
    switch (o.op) {
      case 'check': {
        await this.startCheck(o.pair, o.fresh).promise
        return
      }
      case 'reply': {
        const d = events.replyOf(o, this.model.nowMs, `wamid.model.${++this.ids}`)
        this.deliveries.push(d)
        return events.deliver(this.target, d, o.surface, o.copies, false)
      }
      case 'replay': {
        const d = this.deliveries[o.pick % Math.max(1, this.deliveries.length)]
        return d && events.deliver(this.target, d, o.surface, 1, true)
      }
      case 'outcome': {
        const r = events.reportOf(o, this.target, `model-decision-${++this.ids}`)
        this.reports.push(r)
        return events.report(this.target, r, true)
      }
      case 'reoutcome': {
        const r = this.reports[o.pick % Math.max(1, this.reports.length)]
        return r && events.report(this.target, r, false)
      }
      case 'evict':
        return events.evict(this.target, o.scope, o.pair)
      case 'kaleyra':
        return events.setKaleyra(this.model, this.sim, o.pair, o.record)
      case 'advance':
        this.clock.advance(o.ms)
        this.model.advance(o.ms)
        return
      case 'restart':
        await this.h.gate.close()
        this.model.restart()
        this.gen++
        this.stats.restarts++
        this.h = await this.startGate()
        return
      case 'batch':
        return this.together(o.ops)
    }
  }

  // --- checks and Kaleyra's answers -------------------------------------------------------------------------

  private startCheck(p: number, fresh: boolean): Check {
    const { business, user } = pairOf(p)
    const label = describeOp({ op: 'check', pair: p, fresh })
    const check: Check = {
      p,
      label,
      fresh,
      startSeq: this.model.seq,
      startedAt: Date.now(),
      done: false,
      promise: Promise.resolve(),
      asked: new Set(),
    }
    check.promise = this.h.canCall(user, fresh ? '&fresh=true' : '', business).then(
      (res) => {
        // Kaleyra answers this check caused were answered before it: the model learns of them first.
        this.observe()
        check.done = true
        this.verdict(check, res.status, res.body, this.model.seq)
      },
      (err: unknown) => {
        check.done = true
        this.violations.push(`${label}: ${err instanceof Error ? err.message : String(err)}`)
      },
    )
    this.checks.add(check)
    void check.promise.finally(() => this.checks.delete(check))
    return check
  }

  private verdict(check: Check, status: number, body: any, endSeq: number): void {
    this.stats.checks++
    this.last = body
    if (status === 503) {
      this.stats.unavailable++
      return
    }
    if (status !== 200) {
      this.violations.push(`${check.label}: status ${status} ${JSON.stringify(body)}`)
      return
    }
    if (body.allowed !== true) return
    this.stats.allows++
    if (body.source === 'event') this.stats.eventAllows++
    const why = this.model.judge(check.p, body, check.startSeq, endSeq)
    if (why === undefined) return
    this.violations.push(
      `ILLEGAL ALLOW: ${check.label} (asked #${check.startSeq}, answered #${endSeq}, clock ` +
        `${new Date(this.model.clockAt(endSeq)).toISOString()})\n  answer: ${JSON.stringify(body)}\n` +
        `  why: ${why}\n  facts told for the pair:\n${this.model.describe(check.p)}`,
    )
  }

  /** New requests in the simulator's log: a held one waits for its release, any other was answered at once. */
  private observe(): void {
    const all = this.sim.requests
    for (; this.seen < all.length; this.seen++) {
      const q = all[this.seen]!
      const [business, user] = [q.business[0] ?? '', q.user[0] ?? '']
      const p = pairIndex(business, user)
      if (q.business.length !== 1 || q.user.length !== 1 || p < 0) {
        this.violations.push(`a Kaleyra request for other than one known pair: ${JSON.stringify(q.query)}`)
        continue
      }
      const asked = { seq: this.model.next(), atMs: this.model.nowMs }
      // Whose request: the check of the pair that started last and has not answered.
      const owner = [...this.checks].filter((c) => c.p === p && !c.done).at(-1)
      owner?.asked.add(q)
      if (this.holds.some((h) => h.requests.includes(q))) this.pending.set(q, { p, asked })
      else this.kaleyraAnswered(p, asked)
    }
  }

  private kaleyraAnswered(p: number, asked: { seq: number; atMs: number }): void {
    this.model.tellKaleyra(p, asked)
    this.stats.kaleyraAnswers++
  }

  // --- requests together ------------------------------------------------------------------------------------

  /**
   * Each op is a sequence for fc.scheduler; a check is two steps, "asks" (its Kaleyra request, if any, is held)
   * and "Kaleyra answers" (the held answer is released). The scheduler finishes a step before starting another,
   * and each step waits until every check in flight has answered or waits on a held answer, so the model knows
   * in which order the gate heard of everything.
   */
  private async together(ops: Op[]): Promise<void> {
    this.stats.batches++
    const s = this.scheduler
    if (!s) throw new Error('requests together need fc.scheduler')
    for (const o of ops) {
      const label = describeOp(o)
      if (o.op !== 'check') {
        s.scheduleSequence([{ label, builder: () => this.step(() => this.apply(o)) }])
        continue
      }
      let hold: SimHold | undefined
      s.scheduleSequence([
        {
          label: `${label} asks`,
          builder: () =>
            this.step(async () => {
              hold = this.sim.hold()
              this.holds.push(hold)
              this.startCheck(o.pair, o.fresh)
            }),
        },
        { label: `kaleyra answers ${label}`, builder: () => this.step(() => this.release(hold!)) },
      ])
    }
    await s.waitIdle()
    const stuck = [...this.checks]
    const finished = await settlesWithin(Promise.all(stuck.map((c) => c.promise)), 10_000)
    if (!finished) this.violations.push(`checks never answered: ${stuck.map((c) => c.label).join(', ')}`)
  }

  private async step(action: () => Promise<void>): Promise<void> {
    try {
      await action()
    } catch (err) {
      this.violations.push(err instanceof Error ? err.message : String(err))
    }
    await this.settle()
  }

  /**
   * Releases a check's hold, then waits for the checks whose requests it held to answer (or to ask again into
   * another hold): the gate must read its clock for the answer before the next step may move it.
   */
  private async release(hold: SimHold): Promise<void> {
    this.observe()
    this.holds.splice(this.holds.indexOf(hold), 1)
    const from = this.model.seq
    const released = hold.release()
    for (const q of released) {
      const waiting = this.pending.get(q)
      if (!waiting) continue
      this.pending.delete(q)
      this.stats.heldAnswers++
      this.kaleyraAnswered(waiting.p, waiting.asked)
    }
    const owners = [...this.checks].filter((c) => released.some((q) => c.asked.has(q)))
    const askedAgain = (c: Check) => [...this.pending.values()].some((w) => w.p === c.p && w.asked.seq > from)
    const deadline = Date.now() + SETTLE_MS
    while (owners.some((c) => !c.done && !askedAgain(c)) && Date.now() < deadline) {
      await sleep(1)
      this.observe()
    }
  }

  /** Until every check in flight has answered or waits on a held answer of its pair. */
  private async settle(): Promise<void> {
    const deadline = Date.now() + SETTLE_MS
    for (;;) {
      this.observe()
      if ([...this.checks].every((c) => c.done || this.waitsOnHold(c))) return
      if (Date.now() > deadline) {
        this.stats.settleTimeouts++
        return
      }
      await sleep(1)
    }
  }

  private waitsOnHold(c: Check): boolean {
    // A few ms first, so a check that may join a held lookup has reached the gate.
    if (Date.now() - c.startedAt < 5) return false
    return [...this.pending.values()].some((w) => w.p === c.p && (!c.fresh || w.asked.seq > c.startSeq))
  }
}
