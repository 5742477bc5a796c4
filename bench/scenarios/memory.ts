import { int, mib, table, type ScenarioContext, type ScenarioReport } from '../lib/report.js'
import { startChild } from '../lib/rpc.js'

type PerEntry = { heap: number; rss: number }
interface Measured {
  full: PerEntry
  keys: PerEntry
  decisions: PerEntry
  structure: PerEntry
  facts: PerEntry
  gate: PerEntry
}

const TARGET_BYTES = 300

/**
 * 4. Memory: a decision cache (createDecisionCache) filled with realistic decisions made by decide() from
 * records read the way the client reads Kaleyra's pages, in a child started with --expose-gc; then the
 * pieces one at a time, so we know what to optimize; then the fact memory, and both as a lookup leaves them.
 */
export async function memory(ctx: ScenarioContext): Promise<ScenarioReport> {
  const entries = ctx.quick ? 100_000 : 1_000_000
  const child = startChild(new URL('../lib/memory-child.ts', import.meta.url), {
    nodeArgs: ['--expose-gc', '--max-old-space-size=4096'],
  })
  let m: Measured
  try {
    m = await child.call<Measured>('measure', entries)
  } finally {
    await child.stop()
  }
  ctx.log(`memory: ${Math.round(m.full.heap)} heap bytes per entry`)
  const bytes = (v: number) => `${int(v)} B`
  const row = (name: string, p: PerEntry, note: string) => [name, bytes(p.heap), bytes(p.rss), note]
  const sumOfPieces = m.keys.heap + m.decisions.heap + m.structure.heap
  const markdown = [
    table(
      ['what', 'heap/entry', 'RSS/entry', 'note'],
      [
        row('**full cache entry**', m.full, `${int(entries)} entries: ${mib(m.full.heap * entries)} of heap`),
        row(
          'key string',
          m.keys,
          '`pairKey(business, user)` built from parsed query values, as the route does',
        ),
        row(
          'decision object',
          m.decisions,
          '`Decision`: nine fields, the consent kept flat, two epoch-ms numbers boxed, common strings shared',
        ),
        row('cache structure', m.structure, 'lru-cache per entry (Map slot, key/value lists, TTL arrays)'),
        ['sum of the pieces', bytes(sumOfPieces), '', 'key + decision + structure'],
        row(
          'fact memory',
          m.facts,
          '`createPairFacts`: the newest fact of each pair (consent/facts.ts), keys held by the cache',
        ),
        row(
          '**whole gate per pair**',
          m.gate,
          `cache entry + fact memory under one key, as a lookup leaves them: ${mib(m.gate.heap * entries)} of heap`,
        ),
      ],
    ),
    '',
    `Measured in a child process (\`--expose-gc\`, gc before each reading): heap used and RSS after, minus ` +
      'before, divided by the entries. Decisions come from `decide()` on records parsed from Kaleyra-shaped ' +
      'JSON pages (90 % accepts, 10 % rejects), distinct users, one business. The cache is sized exactly to the ' +
      'entries (lru-cache preallocates its lists to `max`, so a larger `CACHE_MAX_ENTRIES` costs ~40 B per ' +
      'unused slot). The whole gate per pair is what a pair warmed by a Kaleyra answer leaves: `mark()` and ' +
      '`settle()` on the fact memory, then the cache entry; streaks and held rejects only exist for pairs with ' +
      'call outcomes or reject events.',
  ].join('\n')
  return {
    title: '4. Memory',
    markdown,
    targets: [
      {
        scenario: 'memory',
        target: `<= ${TARGET_BYTES} B per entry (heap)`,
        measured: `${int(m.full.heap)} B heap, ${int(m.full.rss)} B RSS`,
        met: m.full.heap <= TARGET_BYTES && m.full.rss <= TARGET_BYTES,
      },
      {
        scenario: 'memory',
        target: `whole gate <= ${TARGET_BYTES} B per pair (heap)`,
        measured: `${int(m.gate.heap)} B heap, ${int(m.gate.rss)} B RSS`,
        met: m.gate.heap <= TARGET_BYTES,
      },
    ],
  }
}
