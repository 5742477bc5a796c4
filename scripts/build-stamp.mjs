// The build stamp: which sources the bundle was built from, so that `npm start` (scripts/start.mjs) builds only when
// they changed. Plain Node and no dependencies: it runs before every start, where tsx would cost more than the check.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, sep } from 'node:path'

/** What `npm start` and the image run, relative to the repository. */
export const BUNDLE_ENTRY = 'dist/bundle/consent-gate.mjs'
/** Written beside the bundle by scripts/bundle.ts. */
export const STAMP = 'dist/bundle/build-stamp.json'
/** What the build reads: a change to any file in these rebuilds. */
export const INPUTS = [
  'src',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts/bundle.ts',
  'scripts/build-stamp.mjs',
]

/**
 * Every input file under `root`, by its path with `/` separators: the SHA-256 of its content, its size and mtime.
 * A file whose size and mtime are those of `previous` keeps its hash unread (as git's index does), unless it was
 * written within 2 s of `previous` being taken: a save in the same tick of the file system's clock keeps the mtime.
 */
export function fingerprint(root, previous = { takenAtMs: 0, files: {} }) {
  const takenAtMs = Date.now()
  const files = {}
  const visit = (path) => {
    if (!existsSync(path)) return
    const stat = statSync(path)
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name))
      return
    }
    const key = relative(root, path).split(sep).join('/')
    const known = previous.files[key]
    const same =
      known?.size === stat.size && known.mtimeMs === stat.mtimeMs && stat.mtimeMs < previous.takenAtMs - 2000
    const sha256 = same ? known.sha256 : createHash('sha256').update(readFileSync(path)).digest('hex')
    files[key] = { sha256, size: stat.size, mtimeMs: stat.mtimeMs }
  }
  for (const input of INPUTS) visit(join(root, input))
  return { takenAtMs, files }
}

/** Records `stamp` (the fingerprint taken before the build read the sources) beside the bundle in `outdir`. */
export function writeStamp(outdir, stamp) {
  writeFileSync(join(outdir, 'build-stamp.json'), `${JSON.stringify(stamp, null, 1)}\n`)
}

/** Why the bundle under `root` must be built before it starts, or undefined when it is up to date. */
export function staleness(root) {
  if (!existsSync(join(root, BUNDLE_ENTRY))) return `nothing is built yet (no ${BUNDLE_ENTRY})`
  let stamp
  try {
    stamp = JSON.parse(readFileSync(join(root, STAMP), 'utf8'))
  } catch {
    stamp = undefined
  }
  if (typeof stamp?.files !== 'object' || stamp.files === null)
    return `the bundle has no build stamp (${STAMP})`
  const built = stamp.files
  const now = fingerprint(root, stamp).files
  const changed = [...new Set([...Object.keys(now), ...Object.keys(built)])]
    .filter((path) => now[path]?.sha256 !== built[path]?.sha256)
    .sort()
  if (changed.length === 0) return undefined
  const named = changed.slice(0, 3).join(', ') + (changed.length > 3 ? ` and ${changed.length - 3} more` : '')
  return `${changed.length === 1 ? 'a source changed' : `${changed.length} sources changed`} since the last build: ${named}`
}
