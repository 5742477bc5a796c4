import { businessFor, consentsFor, pairPath, userNumber } from '../lib/fixtures.js'
import { runLoad, type LoadResult } from '../lib/load.js'
import { int, ms, ratio, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { startServer, startSim, warm, type Server } from '../lib/servers.js'
import { median } from '../lib/stats.js'

const CONNECTIONS = 100
const TITLE = '7. L2 hit path (shared tier on Redis)'

/**
 * 7. L2 hit path: two gates on the same Redis, in the same process layout as scenario 1. The L1 gate answers
 * from its own cache; the L2 gate has an in-process cache of one entry, so nearly every check reads Redis
 * (GET + PTTL). Alternating rounds, same load; reported as a ratio to the L1 hit path. Needs REDIS_URL.
 */
export async function l2Hit(ctx: ScenarioContext): Promise<ScenarioReport> {
  const redisUrl = process.env.REDIS_URL
  if (!redisUrl) {
    const why = 'skipped: no REDIS_URL (`.ci/run` starts a Redis; locally, start one and set REDIS_URL)'
    return {
      title: TITLE,
      markdown: why,
      targets: [{ scenario: 'L2 hit', target: 'reported beside L1', measured: why, met: null }],
    }
  }
  const pairCount = ctx.quick ? 2000 : 10_000
  const durationS = ctx.quick ? 2 : 10
  const rounds = ctx.quick ? 1 : 3
  const sim = await startSim()
  await sim.seed(consentsFor(0, pairCount, Date.now()))
  const env = { UPSTREAM_MAX_RPS: '0', REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `bench-${Date.now()}:` }
  const l1 = await startServer('gate', sim, { env })
  const l2 = await startServer('gate', sim, { env: { ...env, CACHE_MAX_ENTRIES: '1' } })
  const pairs = Array.from({ length: pairCount }, (_, i) => [businessFor(i), userNumber(i)] as const)
  const paths = Array.from({ length: pairCount }, (_, i) => pairPath(i))
  const results: Array<{ kind: 'L1' | 'L2'; load: LoadResult; upstream: number }> = []
  try {
    for (let r = 0; r <= rounds; r++) {
      for (const [kind, server] of (r % 2
        ? [
            ['L1', l1],
            ['L2', l2],
          ]
        : [
            ['L2', l2],
            ['L1', l1],
          ]) as Array<['L1' | 'L2', Server]>) {
        // Denies live 30 s in both tiers: refill Redis (through the L2 gate) and the L1 gate before each round.
        await warm(l2.url, pairs)
        await warm(l1.url, pairs)
        await sim.takeRequestCount()
        const load = await runLoad({
          url: server.url,
          connections: CONNECTIONS,
          durationS: r === 0 ? 1 : durationS,
          paths,
        })
        const upstream = await sim.takeRequestCount()
        if (r > 0) results.push({ kind, load, upstream })
      }
    }
  } finally {
    await Promise.all([l1.stop(), l2.stop(), sim.stop()])
  }
  const of = (kind: 'L1' | 'L2', f: (l: LoadResult) => number) =>
    median(results.filter((x) => x.kind === kind).map((x) => f(x.load)))
  const rows = (['L1', 'L2'] as const).map((kind) => [
    kind === 'L1' ? 'L1 (in-process cache)' : 'L2 (Redis, in-process cache of 1)',
    int(of(kind, (l) => l.rps)),
    ms(of(kind, (l) => l.p50)),
    ms(of(kind, (l) => l.p99)),
    int(median(results.filter((x) => x.kind === kind).map((x) => x.upstream))),
  ])
  const rpsRatio = of('L2', (l) => l.rps) / of('L1', (l) => l.rps)
  const markdown = [
    table(['gate', 'req/s', 'p50', 'p99', 'Kaleyra requests in a round'], rows),
    '',
    `L2/L1 req/s: ${ratio(rpsRatio)}; p99 L2/L1: ${ratio(of('L2', (l) => l.p99) / of('L1', (l) => l.p99))}. ` +
      `${CONNECTIONS} connections, ${durationS} s per round, ${rounds} round(s) after a warm-up, median shown; ` +
      `${pairCount} warm pairs; Redis on loopback.`,
  ].join('\n')
  return {
    title: TITLE,
    markdown,
    targets: [
      { scenario: 'L2 hit', target: 'req/s L2/L1 (no target)', measured: ratio(rpsRatio), met: null },
    ],
  }
}
