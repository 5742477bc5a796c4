// The bundle's loader (dist/bundle/consent-gate.mjs, scripts/bundle.ts): runs the bundled server, a CommonJS script,
// from a V8 code cache kept beside it, so a start skips most of the parsing and compiling of 3 MB of JavaScript
// (bench scenario 5). Node 22's compile cache does the same for ES modules; this works on Node 20 too, and in the
// image the cache is made at build time. Imports Node only: it runs before anything of the gate is loaded.
import { randomUUID } from 'node:crypto'
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { Module, createRequire } from 'node:module'
import { dirname } from 'node:path'
import vm from 'node:vm'
import { crc32 } from 'node:zlib'

/**
 * What became of the cache on this start: `used`, or why not: `absent`, `stale` (made from another script or Node,
 * or not a cache), `damaged` (its bytes are not those written), `rejected` (V8 refused it: other V8 flags). Then it
 * is written again when the gate exits cleanly. `off` under `--enable-source-maps`, whose stack traces need Node's
 * own loader.
 */
export type CodeCacheState = 'used' | 'absent' | 'stale' | 'damaged' | 'rejected' | 'off'

export interface CodeCacheOptions {
  /** Where the cache is read and written; default: the script's path with `.v8-cache` added. */
  cacheFile?: string
}

const MAGIC = 'consent-gate code cache 2\n'
/** Far above the ~2 MB the gate's cache takes: anything larger is not ours, and is not read whole. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024

/**
 * Compiles and runs `file` as a CommonJS module, with the cache when it was made from these very bytes (CRC-32 and
 * length of the script), this Node and these V8 flags, and its own bytes are intact: release builds of V8 check
 * neither a cache's payload nor its source beyond their lengths, and run what they are given. Otherwise it compiles
 * from source, runs, and writes a fresh cache when the process exits with status 0 (so it holds every function the
 * run compiled, and a start that failed leaves none). The cache is only an optimization: one that cannot be read or
 * written costs the parsing, never the start. The script may not use import(), which a vm.Script serves only with a
 * callback of Node's: the build turns every import() into require().
 */
export function runWithCodeCache(file: string, options: CodeCacheOptions = {}): CodeCacheState {
  if (process.sourceMapsEnabled) {
    // Node maps the stacks of what its loaders compile, not of a vm.Script: debugging is worth a slower start.
    createRequire(file)(file)
    return 'off'
  }
  const cacheFile = options.cacheFile ?? `${file}.v8-cache`
  const bytes = readFileSync(file)
  const key = `${crc32(bytes)} ${bytes.length} ${process.version} ${process.arch}`
  const cached = readCache(cacheFile, key)
  const script = new vm.Script(Module.wrap(bytes.toString('utf8')), {
    filename: file,
    cachedData: typeof cached === 'string' ? undefined : cached,
  })
  const state: CodeCacheState =
    typeof cached === 'string' ? cached : script.cachedDataRejected ? 'rejected' : 'used'
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void
  const module = { exports: {} }
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
  // After the script has registered its own exit work (the log's last lines go out first).
  if (state !== 'used' && writable(dirname(cacheFile)))
    process.once('exit', (code) => code === 0 && writeCache(cacheFile, key, script))
  return state
}

/** The cache's V8 data, or why there is none to use. */
function readCache(cacheFile: string, key: string): Buffer | 'absent' | 'stale' | 'damaged' {
  let bytes: Buffer
  let fd: number
  try {
    fd = openSync(cacheFile, 'r')
  } catch {
    return 'absent'
  }
  try {
    if (fstatSync(fd).size > MAX_CACHE_BYTES) return 'stale'
    bytes = readFileSync(fd)
  } catch {
    return 'absent'
  } finally {
    closeSync(fd)
  }
  // MAGIC, the key, a newline, the CRC-32 of the data (8 hex digits), a newline, the data.
  const keyEnd = bytes.indexOf(10, MAGIC.length)
  if (keyEnd < 0 || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) return 'stale'
  if (bytes.toString('utf8', MAGIC.length, keyEnd) !== key) return 'stale'
  const data = bytes.subarray(keyEnd + 10)
  const sum = bytes.toString('latin1', keyEnd + 1, keyEnd + 9)
  return bytes[keyEnd + 9] === 10 && sum === checksum(data) ? data : 'damaged'
}

const checksum = (data: Buffer) => crc32(data).toString(16).padStart(8, '0')

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    // The image at run time (root-owned, read-only to the gate): no ~30 ms spent at exit on a cache nobody keeps.
    return false
  }
}

/**
 * Written whole under a name of its own, flushed to disk, then renamed: a gate starting beside this one (or after a
 * power cut) reads the old cache or the new one, never a mix, and the checksum catches what slips through anyway.
 */
function writeCache(cacheFile: string, key: string, script: vm.Script): void {
  const temporary = `${cacheFile}.${randomUUID()}.tmp`
  try {
    const data = script.createCachedData()
    const fd = openSync(temporary, 'wx')
    try {
      writeFileSync(fd, Buffer.concat([Buffer.from(`${MAGIC}${key}\n${checksum(data)}\n`), data]))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temporary, cacheFile)
  } catch {
    // The disk is full, or the directory went away: the next start parses, as this one did.
    rmSync(temporary, { force: true })
  }
}
