// npx tsx bench/profile.ts <file.cpuprofile> [top]: where a profiled server spent its CPU.
// Profiles come from `BENCH_CPU_PROF=1 npm run bench -- --only=hit` (bench/out/profiles/).
import { VM_FRAMES, owner, readProfile, selfTimes, sumBy, type ProfileNode } from './lib/cpuprofile.js'
import { table } from './lib/report.js'

const [file, topArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: tsx bench/profile.ts <file.cpuprofile> [top]')
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = readProfile(file)
const selfUs = selfTimes(profile)
// Shares are of busy time: an idle server is not the question.
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id))
const totalUs = [...selfUs].reduce((sum, [id, us]) => (idleIds.has(id) ? sum : sum + us), 0)

const rank = (key: (n: ProfileNode) => string): [string, number][] =>
  [...sumBy(profile, key)].sort((a, b) => b[1] - a[1]).slice(0, top)

const share = (us: number) => `${((100 * us) / totalUs).toFixed(1)} %`
const fn = (n: ProfileNode) => {
  const { functionName, lineNumber } = n.callFrame
  if (VM_FRAMES.has(functionName)) return functionName
  return `${functionName || '(anonymous)'} ${owner(n)}:${lineNumber + 1}`
}

/** Inclusive time: each sample counts once for every distinct function on its stack. */
function inclusive(): [string, number][] {
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const sums = new Map<string, number>()
  for (const [id, us] of selfUs) {
    if (idleIds.has(id)) continue
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)
      if (node && node.callFrame.url) seen.add(fn(node))
    }
    for (const key of seen) sums.set(key, (sums.get(key) ?? 0) + us)
  }
  return [...sums].sort((a, b) => b[1] - a[1]).slice(0, top)
}

console.log(`${file}: ${(totalUs / 1e6).toFixed(1)} s busy (shares below are of busy time)\n`)
console.log(
  table(
    ['self time', 'function'],
    rank(fn).map(([name, us]) => [share(us), name]),
  ),
)
console.log()
console.log(
  table(
    ['self time', 'code'],
    rank(owner).map(([name, us]) => [share(us), name]),
  ),
)
console.log()
console.log(
  table(
    ['inclusive', 'function'],
    inclusive().map(([name, us]) => [share(us), name]),
  ),
)
