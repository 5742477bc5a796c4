// `npm start`: the built gate, at once. It builds first (`npm run build`, about 12 s) only when nothing is built or a
// source changed since the last build (scripts/build-stamp.mjs), and says so on stderr. Plain Node, no tsx.
import { spawnSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { BUNDLE_ENTRY, staleness } from './build-stamp.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const reason = staleness(root)
if (reason) {
  process.stderr.write(`consent-gate: building first, ${reason}: npm run build\n`)
  const build = spawnSync('npm', ['run', 'build', '--silent'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  if (build.status !== 0) {
    process.stderr.write('consent-gate: the build failed, so the gate does not start\n')
    process.exit(build.status ?? 1)
  }
}
// In this process: no second Node to start, and SIGTERM reaches the gate's own graceful shutdown.
await import(pathToFileURL(`${root}${BUNDLE_ENTRY}`).href)
