import { businessFor, pairPath, userNumber } from '../lib/fixtures.js'
import { count, runLoad, type LoadResult } from '../lib/load.js'
import { int, ms, pct, ratio, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { delta, scrape } from '../lib/scrape.js'
import { startServer, startSim, warm, type ProcessStats, type Server } from '../lib/servers.js'
import { cpuShare, median } from '../lib/stats.js'

const CONNECTIONS = 100
/** Paths handed to autocannon per round: more than a round sends, so no pair is asked twice in a round. */
const SAMPLE = 100_000

interface Round {
  kind: 'gate' | 'bare'
  load: LoadResult
  serverCpu: number
}

interface Size {
  pairs: number
  warmS: number
  /** The gate's own readings (bytes) after a compacting gc, before and after warming. */
  rss: { before: number; after: number }
  heap: { before: number; after: number }
  hitRatio: number
  rounds: Round[]
}

/**
 * 9. Cost as work grows: the hit path of scenario 1 with 10,000, 100,000 and 1,000,000 cached pairs, the cache
 * sized to fit, every request a pair drawn at random from all of them (a hot few would keep the cache's Map in
 * the CPU cache). A/B against the same bare route at each size; memory per pair from the gate.
 */
export async function scale(ctx: ScenarioContext): Promise<ScenarioReport> {
  const sizes = ctx.quick ? [1000, 10_000] : [10_000, 100_000, 1_000_000]
  const durationS = ctx.quick ? 1 : 5
  const rounds = ctx.quick ? 1 : 3
  // A quick run keeps the scripts working: one memory reading, its figures only indicative.
  const gcTries = ctx.quick ? 1 : 10
  // An empty simulator answers no_consent to every user: its request cost does not grow with the pairs (it scans
  // what it stores), so a million pairs warm in about a minute.
  const sim = await startSim()
  // Started together: child start-up is most of a quick run. An idle gate costs the others nothing.
  const [bare, ...gates] = await Promise.all([startServer('bare', null), ...sizes.map(startGate)])
  const results: Size[] = []
  try {
    for (const [k, gate] of gates.entries()) results.push(await measureSize(sizes[k] ?? 0, gate))
  } finally {
    await Promise.all([
      bare.stop(),
      sim.stop(),
      ...gates.filter((g) => g.child.process.connected).map((g) => g.stop()),
    ])
  }
  return summarize(results, durationS)

  function startGate(pairs: number): Promise<Server> {
    return startServer('gate', sim, {
      nodeArgs: ['--expose-gc'],
      env: {
        CACHE_MAX_ENTRIES: String(pairs),
        // Denies outlive the run, so every measured request is a hit.
        CACHE_NEGATIVE_TTL_SECONDS: '86400',
        // Warming only: no hit touches the upstream budget or the batcher (see hit-path.ts).
        UPSTREAM_MAX_RPS: '0',
        UPSTREAM_MAX_INFLIGHT: '64',
        UPSTREAM_MAX_QUEUE: '10000',
        BATCH_MAX_USERS: '100',
        KALEYRA_PAGE_SIZE: '100',
      },
    })
  }

  async function measureSize(pairs: number, gate: Server): Promise<Size> {
    try {
      const before = await settled(gate, gcTries)
      const t0 = performance.now()
      await warm(
        gate.url,
        Array.from({ length: pairs }, (_, i) => [businessFor(i), userNumber(i)] as const),
      )
      const warmS = (performance.now() - t0) / 1000
      const after = await settled(gate, gcTries)
      ctx.log(`scale ${int(pairs)}: warmed in ${warmS.toFixed(1)} s; JIT warm-up`)
      const random = mulberry32(pairs)
      const sample = () => randomSample(pairs, Math.min(pairs, SAMPLE), random)
      for (const server of [gate, bare]) await measure(server, sample(), ctx.quick ? 0.25 : 2)
      const metrics = await scrape(gate.url)
      const measured: Round[] = []
      for (let r = 1; r <= rounds; r++) {
        const paths = sample()
        for (const server of r % 2 ? [gate, bare] : [bare, gate]) {
          const round = await measure(server, paths, durationS)
          measured.push(round)
          ctx.log(
            `scale ${int(pairs)} round ${r} ${server.kind}: ${int(round.load.rps)} req/s, p99 ${ms(round.load.p99)}`,
          )
        }
      }
      const now = await scrape(gate.url)
      const hits = delta(metrics, now, 'consent_gate_cache_lookups_total', 'result="hit"')
      return {
        pairs,
        warmS,
        rss: { before: before.memory.rss, after: after.memory.rss },
        heap: { before: heapOf(before), after: heapOf(after) },
        hitRatio: hits / delta(metrics, now, 'consent_gate_cache_lookups_total'),
        rounds: measured,
      }
    } finally {
      // Its memory back before the next size warms.
      await gate.stop()
    }
  }
}

/**
 * The gate's memory once what warming left in flight (answers, log lines, sockets) is gone: gc until heap stops
 * falling, at most `tries` times (each gc call waits a second for V8 to hand pages back).
 */
async function settled(server: Server, tries: number): Promise<ProcessStats> {
  let last: ProcessStats | undefined
  for (let i = 0; i < tries; i++) {
    await server.child.call('gc')
    const now = await server.stats()
    if (last && heapOf(last) - heapOf(now) < 2 ** 20) return now
    last = now
  }
  return last ?? server.stats()
}

// Typed arrays (lru-cache's lists, the fact memory's rows) live outside the JS heap.
const heapOf = (s: ProcessStats) => s.memory.heapUsed + s.memory.arrayBuffers

async function measure(server: Server, paths: string[], seconds: number): Promise<Round> {
  const before = await server.stats()
  const load = await runLoad({ url: server.url, connections: CONNECTIONS, durationS: seconds, paths })
  const after = await server.stats()
  return { kind: server.kind, load, serverCpu: cpuShare(before.cpu, after.cpu, load.wallMs) }
}

/** `n` paths of distinct pairs among `pairs`, in random order (a shuffled prefix: Fisher-Yates, stopped at n). */
function randomSample(pairs: number, n: number, random: () => number): string[] {
  const order = Uint32Array.from({ length: pairs }, (_, i) => i)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pairs - i))
    const picked = order[j] ?? j
    order[j] = order[i] ?? i
    order[i] = picked
  }
  return Array.from(order.subarray(0, n), (i) => pairPath(i))
}

/** A small seeded PRNG: every run asks the same pairs in the same order. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** Bytes one more cached pair costs, between two sizes. */
function marginal(smaller: Size | undefined, larger: Size): { heap: number; rss: number } | undefined {
  if (!smaller) return undefined
  const pairs = larger.pairs - smaller.pairs
  return {
    heap: (larger.heap.after - smaller.heap.after) / pairs,
    rss: (larger.rss.after - smaller.rss.after) / pairs,
  }
}

/** Server CPU time per response: robust to a busy machine. */
const cpuPerRequestUs = (r: Round) => (r.serverCpu * r.load.wallMs * 1000) / r.load.responses

function summarize(sizes: Size[], durationS: number): ScenarioReport {
  const of = (s: Size, kind: 'gate' | 'bare') => s.rounds.filter((r) => r.kind === kind)
  // Rounds pair up in order: the k-th gate round with the k-th bare round, run back to back.
  const ratios = (s: Size, f: (r: Round) => number) =>
    median(of(s, 'gate').map((g, k) => f(g) / f(of(s, 'bare')[k] ?? g)))
  const rows = sizes.map((s, k) => ({
    s,
    rssPerPair: (s.rss.after - s.rss.before) / s.pairs,
    heapPerPair: (s.heap.after - s.heap.before) / s.pairs,
    // Fixed costs (JIT code, buffers) cancel out between two sizes: what one more pair costs.
    added: k > 0 ? marginal(sizes[k - 1], s) : undefined,
    rps: median(of(s, 'gate').map((r) => r.load.rps)),
    rpsRatio: ratios(s, (r) => r.load.rps),
    p99: median(of(s, 'gate').map((r) => r.load.p99)),
    p99Ratio: ratios(s, (r) => r.load.p99),
    cpuUs: median(of(s, 'gate').map(cpuPerRequestUs)),
    bareCpuUs: median(of(s, 'bare').map(cpuPerRequestUs)),
    other: median(s.rounds.map((r) => Math.max(0, r.load.machineCpu - r.serverCpu - r.load.loadgenCpu))),
  }))
  const first = rows[0]
  const last = rows[rows.length - 1]
  const keep = first && last ? last.rpsRatio / first.rpsRatio : NaN
  const p99Growth = first && last ? last.p99Ratio / first.p99Ratio : NaN
  // Gate over bare CPU per request: contention from other work on the machine slows both alike.
  const cpuGrowth = first && last ? last.cpuUs / last.bareCpuUs / (first.cpuUs / first.bareCpuUs) : NaN
  const errors = sizes
    .flatMap((s) => s.rounds)
    .reduce((n, r) => n + r.load.responses - count(r.load.statuses, 200) + r.load.errors, 0)
  const hits = Math.min(...sizes.map((s) => s.hitRatio))
  const bytes = (v: number) => `${int(v)} B`
  const markdown = [
    table(
      [
        'cached pairs',
        'req/s',
        'gate/bare req/s',
        'p99',
        'gate/bare p99',
        'gate CPU/request',
        'bare CPU/request',
        'gate/bare CPU',
        'RSS/pair',
        'heap/pair',
        'added pair: heap / RSS',
        'gate RSS',
        'other CPU',
        'warming',
      ],
      rows.map((r) => [
        int(r.s.pairs),
        int(r.rps),
        ratio(r.rpsRatio),
        ms(r.p99),
        ratio(r.p99Ratio),
        `${int(r.cpuUs)} µs`,
        `${int(r.bareCpuUs)} µs`,
        ratio(r.cpuUs / r.bareCpuUs),
        bytes(r.rssPerPair),
        bytes(r.heapPerPair),
        r.added ? `${bytes(r.added.heap)} / ${bytes(r.added.rss)}` : '',
        `${int(r.s.rss.after / 2 ** 20)} MiB`,
        `${r.other.toFixed(2)} cores`,
        `${r.s.warmS.toFixed(1)} s`,
      ]),
    ),
    '',
    `${CONNECTIONS} connections, ${durationS} s rounds alternating gate and bare Fastify (A/B then B/A), after a ` +
      'discarded JIT warm-up; medians of the rounds. Each round asks up to ' +
      `${int(SAMPLE)} distinct pairs drawn at random from all the cached ones, so no pair repeats within a ` +
      'round and every request touches a cold part of the cache (a hit reads no fact row: the fact memory ' +
      'costs memory, not hit CPU). A fresh gate per size, ' +
      '`CACHE_MAX_ENTRIES` = the pairs, warmed through `POST /can-call/batch` against an empty simulator (every ' +
      'pair a `no_consent` deny, kept with `CACHE_NEGATIVE_TTL_SECONDS=86400`); the upstream budget and batch ' +
      'sizes are lifted for the warming only. Decision log at info to /dev/null. ' +
      `Cache hits: at least ${pct(hits)} of the measured checks at every size; non-200 answers: ${errors}. ` +
      "RSS/pair and heap/pair (heap used + array buffers) are the gate's own readings after a compacting gc, " +
      'after warming minus before: heap/pair leaves out the lists lru-cache preallocates at start (~40 B a ' +
      'slot), RSS/pair counts them as warming touches them. Below 100,000 pairs both are mostly fixed costs ' +
      '(JIT code, buffers, the first requests) spread over few pairs; "added pair" (the difference from the ' +
      'size above) is what one more pair costs. "other CPU": what the rest of the machine used during the ' +
      'rounds; gate/bare CPU per request is the figure to compare across sizes on a busy machine.',
  ].join('\n')
  return {
    title: '9. Cost as work grows',
    markdown,
    targets: [
      {
        scenario: 'scale',
        target: 'gate/bare CPU per request at the largest size <= 1.25 x at the smallest',
        measured: ratio(cpuGrowth),
        met: cpuGrowth <= 1.25,
      },
      // Informational: on a shared machine these swing more than the effect they would show.
      {
        scenario: 'scale',
        target: 'gate/bare req/s at the largest size, over at the smallest',
        measured: ratio(keep),
        met: null,
      },
      {
        scenario: 'scale',
        target: 'gate/bare p99 at the largest size, over at the smallest',
        measured: ratio(p99Growth),
        met: null,
      },
      {
        scenario: 'scale',
        target: `whole gate <= 300 B heap per pair at ${int(last?.s.pairs ?? NaN)} pairs`,
        measured: `${bytes(last?.heapPerPair ?? NaN)} heap, ${bytes(last?.rssPerPair ?? NaN)} RSS`,
        // Fixed costs (JIT code, buffers) dominate the small sizes of a quick run.
        met: (last?.s.pairs ?? 0) >= 1_000_000 ? (last?.heapPerPair ?? NaN) <= 300 : null,
      },
    ],
  }
}
