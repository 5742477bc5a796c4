import { execFile } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'

const run = promisify(execFile)
// Built as the bundle's loader is, and run by plain Node: under tsx, source maps are on and the loader stands aside.
const LOADER = join(mkdtempSync(join(tmpdir(), 'code-cache-loader-')), 'code-cache.mjs')
beforeAll(async () => {
  await build({
    entryPoints: [new URL('../../src/code-cache.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: LOADER,
    logLevel: 'warning',
  })
})

let dir = ''
let script = ''
let cacheFile = ''
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'code-cache-'))
  script = join(dir, 'gate.cjs')
  cacheFile = `${script}.v8-cache`
  writeFileSync(join(dir, 'dep.cjs'), 'module.exports = "dep"\n')
  // What the bundle relies on: require beside itself and of Node's modules, __dirname.
  writeSource('one')
})

function writeSource(word: string) {
  writeFileSync(
    script,
    `const dep = require('./dep.cjs')
     const f = (n) => n * 2
     const os = require('node:os')
     console.log(JSON.stringify({ word: ${JSON.stringify(word)}, dep, dir: __dirname, os: typeof os.cpus, f: f(21) }))
    `,
  )
}

/** One process that runs the script through the loader: what it printed, and the state of the cache. */
async function start(opts: { cacheFile?: string; nodeArgs?: string[]; exitCode?: number } = {}) {
  const options = JSON.stringify({ cacheFile: opts.cacheFile })
  const { stdout } = await run(process.execPath, [
    ...(opts.nodeArgs ?? []),
    '--input-type=module',
    '--eval',
    `const { runWithCodeCache } = await import(${JSON.stringify(LOADER)})
     console.log(JSON.stringify({ state: runWithCodeCache(${JSON.stringify(script)}, ${options}) }))
     process.exitCode = ${opts.exitCode ?? 0}`,
  ]).catch((err: { stdout: string; code: number }) => {
    if (err.code !== opts.exitCode) throw err
    return err
  })
  // The script prints while it runs, the loader's state after.
  const [ran, state] = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  return { state: state?.state, ran }
}

describe('runWithCodeCache', () => {
  it('runs the script as CommonJS, writes the cache at exit, and the next start uses it', async () => {
    const first = await start()
    expect(first).toEqual({ state: 'absent', ran: { word: 'one', dep: 'dep', dir, os: 'function', f: 42 } })
    expect(existsSync(cacheFile)).toBe(true)
    const written = statSync(cacheFile).mtimeMs
    const second = await start()
    expect(second).toEqual({ ...first, state: 'used' })
    // A used cache is left as it is.
    expect(statSync(cacheFile).mtimeMs).toBe(written)
  })

  it('never uses a cache made from other bytes, even of the same length, and replaces it', async () => {
    await start()
    writeSource('two') // same length as 'one': all V8 itself would check
    expect(await start()).toMatchObject({ state: 'stale', ran: { word: 'two' } })
    expect(await start()).toMatchObject({ state: 'used', ran: { word: 'two' } })
  })

  it('never hands V8 a cache whose bytes changed, and writes a good one', async () => {
    await start()
    const good = readFileSync(cacheFile)
    // Bytes flipped in the middle of V8's part, the length kept: a release V8 would run (or crash on) them.
    const flipped = Buffer.from(good)
    for (let i = 0; i < 64; i++) flipped[(good.length >> 1) + i]! ^= 0xff
    writeFileSync(cacheFile, flipped)
    expect(await start()).toMatchObject({ state: 'damaged', ran: { word: 'one' } })
    expect(await start()).toMatchObject({ state: 'used' })
    // Cut short, as a crash mid-write could leave it on some file systems.
    writeFileSync(cacheFile, good.subarray(0, good.length >> 1))
    expect(await start()).toMatchObject({ state: 'damaged', ran: { word: 'one' } })
    writeFileSync(cacheFile, 'not a cache at all')
    expect(await start()).toMatchObject({ state: 'stale', ran: { word: 'one' } })
    expect(await start()).toMatchObject({ state: 'used' })
  })

  it('starts from source when V8 refuses the cache (other V8 flags), and writes one for these', async () => {
    await start({ nodeArgs: ['--stack-size=900'] })
    expect(await start()).toMatchObject({ state: 'rejected', ran: { word: 'one' } })
    expect(await start()).toMatchObject({ state: 'used' })
  })

  it('writes no cache for a start that failed (exit status other than 0)', async () => {
    expect(await start({ exitCode: 1 })).toMatchObject({ state: 'absent', ran: { word: 'one' } })
    expect(existsSync(cacheFile)).toBe(false)
  })

  it('starts when the cache cannot be written, and leaves no partial file', async () => {
    const nowhere = join(dir, 'missing-directory', 'gate.v8-cache')
    expect(await start({ cacheFile: nowhere })).toMatchObject({ state: 'absent', ran: { word: 'one' } })
    expect(readdirSync(dir).sort()).toEqual(['dep.cjs', 'gate.cjs'])
  })

  it('starts when the cache path is a directory, and leaves no temporary file beside it', async () => {
    const directory = join(dir, 'a-directory.v8-cache')
    mkdirSync(directory)
    expect(await start({ cacheFile: directory })).toMatchObject({ state: 'absent', ran: { word: 'one' } })
    expect(readdirSync(dir).sort()).toEqual(['a-directory.v8-cache', 'dep.cjs', 'gate.cjs'])
  })

  it('reads no cache larger than any it writes', async () => {
    // Sparse: 65 MiB of nothing, read only if the size were not checked first.
    writeFileSync(cacheFile, '')
    truncateSync(cacheFile, 65 * 1024 * 1024)
    expect(await start()).toMatchObject({ state: 'stale', ran: { word: 'one' } })
    expect(statSync(cacheFile).size).toBeLessThan(64 * 1024 * 1024)
  })

  it('leaves the cache alone under --enable-source-maps, where Node loads the script itself', async () => {
    expect(await start({ nodeArgs: ['--enable-source-maps'] })).toMatchObject({
      state: 'off',
      ran: { word: 'one' },
    })
    expect(existsSync(cacheFile)).toBe(false)
  })
})
