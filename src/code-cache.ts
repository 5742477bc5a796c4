// The bundle's loader (dist/bundle/consent-gate.mjs, scripts/bundle.ts): runs the bundled server, a CommonJS script,
// from a V8 code cache kept beside it, so a start skips most of the parsing and compiling of 3 MB of JavaScript
// (bench scenario 5). Node 22's compile cache does the same for ES modules; this works on Node 20 too, and in the
// image the cache is made at build time. Imports Node only: it runs before anything of the gate is loaded.
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { Module, createRequire } from 'node:module'
import { dirname } from 'node:path'
import vm from 'node:vm'

/**
 * What became of the cache on this start: `used`, or why not (and then it is written at exit); `off` under
 * `--enable-source-maps`, whose stack traces need Node's own loader.
 */
export type CodeCacheState = 'used' | 'absent' | 'stale' | 'rejected' | 'off'

export interface CodeCacheOptions {
  /** Where the cache is read and written; default: the script's path with `.v8-cache` added. */
  cacheFile?: string
  /**
   * What the cache must have been made from, beside the script's size and this Node: the build writes the
   * bundle's SHA-256 here. V8 checks its own version and flags, but of the source only its length.
   */
  sourceId?: string
}

const MAGIC = 'consent-gate code cache 1\n'

/**
 * Compiles and runs `file` as a CommonJS module, with the cache when it was made from this very script, Node and
 * V8 flags. Otherwise it compiles from source, runs, and writes a fresh cache when the process exits, so it holds
 * every function the run compiled. The cache is only an optimization: a cache that cannot be read or written (a
 * read-only file system, a half-written file) costs the parsing, never the start. The script may not use import():
 * Node 20 loses the callback that serves it when the script comes from a cache, so the build turns every import()
 * into require().
 */
export function runWithCodeCache(file: string, options: CodeCacheOptions = {}): CodeCacheState {
  if (process.sourceMapsEnabled) {
    // Node maps the stacks of what its loaders compile, not of a vm.Script: debugging is worth a slower start.
    createRequire(file)(file)
    return 'off'
  }
  const cacheFile = options.cacheFile ?? `${file}.v8-cache`
  const source = readFileSync(file, 'utf8')
  const key = `${options.sourceId ?? ''} ${statSync(file).size} ${process.version} ${process.arch}`
  const cached = readCache(cacheFile)
  const cachedData = cached?.key === key ? cached.data : undefined
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
  })
  const state: CodeCacheState =
    cached === undefined
      ? 'absent'
      : cachedData === undefined
        ? 'stale'
        : script.cachedDataRejected
          ? 'rejected'
          : 'used'
  if (state !== 'used') process.once('exit', () => writeCache(cacheFile, key, script))
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void
  const module = { exports: {} }
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
  return state
}

function readCache(cacheFile: string): { key: string; data: Buffer } | undefined {
  let bytes: Buffer
  try {
    bytes = readFileSync(cacheFile)
  } catch {
    return undefined
  }
  const keyEnd = bytes.indexOf(10, MAGIC.length)
  if (keyEnd < 0 || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) return { key: '', data: bytes }
  return { key: bytes.toString('utf8', MAGIC.length, keyEnd), data: bytes.subarray(keyEnd + 1) }
}

/** Written whole under another name, then renamed: a gate starting beside this one reads the old cache or the new. */
function writeCache(cacheFile: string, key: string, script: vm.Script): void {
  const temporary = `${cacheFile}.${process.pid}.tmp`
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(`${MAGIC}${key}\n`), script.createCachedData()]))
    renameSync(temporary, cacheFile)
  } catch {
    // Read-only (the image at run time), or the disk is full: the next start parses, as this one did.
    rmSync(temporary, { force: true })
  }
}
