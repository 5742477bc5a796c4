// npx tsx bench/profile-diff.ts <gate.cpuprofile> <bare.cpuprofile> [top]: CPU per request by package, side by side.
// Profiles come from `BENCH_CPU_PROF=1 npm run bench -- --only=hit`, which writes the requests each profile served
// beside it; the difference column is what the gate adds per request, and where.
import fs from 'node:fs'
import { owner, readProfile, requestsFile, sumBy } from './lib/cpuprofile.js'
import { table } from './lib/report.js'

const [gateFile, bareFile, topArg] = process.argv.slice(2)
if (!gateFile || !bareFile) {
  console.error('usage: tsx bench/profile-diff.ts <gate.cpuprofile> <bare.cpuprofile> [top]')
  process.exit(2)
}

function perRequest(file: string): { byOwner: Map<string, number>; requests: number } {
  const { requests } = JSON.parse(fs.readFileSync(requestsFile(file), 'utf8')) as { requests: number }
  const byOwner = new Map([...sumBy(readProfile(file), owner)].map(([k, us]) => [k, us / requests]))
  return { byOwner, requests }
}

const gate = perRequest(gateFile)
const bare = perRequest(bareFile)
const owners = [...new Set([...gate.byOwner.keys(), ...bare.byOwner.keys()])]
const rows = owners
  .map((o) => ({ o, g: gate.byOwner.get(o) ?? 0, b: bare.byOwner.get(o) ?? 0 }))
  .sort((x, y) => y.g - y.b - (x.g - x.b))
const total = (m: Map<string, number>) => [...m.values()].reduce((s, v) => s + v, 0)
const us = (v: number) => v.toFixed(1)
console.log(
  `busy CPU per request: gate ${us(total(gate.byOwner))} µs (${gate.requests} requests), ` +
    `bare ${us(total(bare.byOwner))} µs (${bare.requests} requests); profiler overhead included\n`,
)
console.log(
  table(
    ['code', 'gate µs/request', 'bare µs/request', 'gate - bare'],
    rows.slice(0, Number(topArg ?? 25)).map((r) => [r.o, us(r.g), us(r.b), us(r.g - r.b)]),
  ),
)
