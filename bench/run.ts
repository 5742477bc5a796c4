// npm run bench [-- --quick] [-- --only=hit,cold,herd,memory,startup,soak,l2,scale,precheck,meta]
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { machine } from './lib/machine.js'
import { table, verdict, type ScenarioContext, type ScenarioReport } from './lib/report.js'
import { coldPath } from './scenarios/cold-path.js'
import { herd } from './scenarios/herd.js'
import { hitPath } from './scenarios/hit-path.js'
import { memory } from './scenarios/memory.js'
import { soak } from './scenarios/soak.js'
import { startup } from './scenarios/startup.js'
import { l2Hit } from './scenarios/l2-hit.js'
import { precheck } from './scenarios/precheck.js'
import { scale } from './scenarios/scale.js'
import { meta } from './scenarios/meta.js'

const SCENARIOS: Record<string, (ctx: ScenarioContext) => Promise<ScenarioReport>> = {
  hit: hitPath,
  cold: coldPath,
  herd,
  memory,
  startup,
  soak,
  l2: l2Hit,
  precheck,
  scale,
  meta,
}

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
const unknown = (only ?? []).filter((name) => !(name in SCENARIOS))
if (unknown.length) {
  console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`)
  process.exit(2)
}

const started = performance.now()
const ctx: ScenarioContext = {
  quick,
  outDir: path.join(benchDir, 'out'),
  log: (message) => console.error(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${message}`),
}
fs.mkdirSync(ctx.outDir, { recursive: true })

const reports: ScenarioReport[] = []
for (const [name, scenario] of Object.entries(SCENARIOS)) {
  if (only && !only.includes(name)) continue
  ctx.log(`${name}: start`)
  reports.push(await scenario(ctx))
}

const m = machine()
const document = [
  '# consent-gate benchmark results',
  '',
  `${quick ? '**Quick run** (`--quick`: a few seconds per scenario; not for comparing numbers). ' : ''}` +
    `${m.date}: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}. ` +
    `Total ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  '',
  '## Targets',
  '',
  table(
    ['scenario', 'target', 'measured', 'verdict'],
    reports.flatMap((r) => r.targets).map((t) => [t.scenario, t.target, t.measured, verdict(t.met)]),
  ),
  ...reports.flatMap((r) => ['', `## ${r.title}`, '', r.markdown]),
  '',
].join('\n')

console.log(document)
// A partial run (--only) is for development: it never overwrites the committed results.
const target = only ? path.join(ctx.outDir, 'results.md') : path.join(benchDir, 'results.md')
fs.writeFileSync(target, document)
ctx.log(`written to ${path.relative(process.cwd(), target)}`)
