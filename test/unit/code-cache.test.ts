import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
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
async function start(opts: { sourceId?: string; cacheFile?: string; nodeArgs?: string[] } = {}) {
  const options = JSON.stringify({ sourceId: opts.sourceId ?? 'build-1', cacheFile: opts.cacheFile })
  const { stdout } = await run(process.execPath, [
    ...(opts.nodeArgs ?? []),
    '--input-type=module',
    '--eval',
    `const { runWithCodeCache } = await import(${JSON.stringify(LOADER)})
     console.log(JSON.stringify({ state: runWithCodeCache(${JSON.stringify(script)}, ${options}) }))`,
  ])
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

  it('never uses a cache made from other sources, even of the same length, and replaces it', async () => {
    await start()
    writeSource('two') // same length as 'one'
    expect(await start({ sourceId: 'build-2' })).toMatchObject({ state: 'stale', ran: { word: 'two' } })
    expect(await start({ sourceId: 'build-2' })).toMatchObject({ state: 'used', ran: { word: 'two' } })
  })

  it('starts from source when the cache is damaged or foreign, and writes a good one', async () => {
    await start()
    const good = readFileSync(cacheFile)
    // The header intact, V8's part truncated: V8 itself refuses it.
    writeFileSync(cacheFile, good.subarray(0, good.length >> 1))
    expect(await start()).toMatchObject({ state: 'rejected', ran: { word: 'one' } })
    expect(await start()).toMatchObject({ state: 'used' })
    writeFileSync(cacheFile, 'not a cache at all')
    expect(await start()).toMatchObject({ state: 'stale', ran: { word: 'one' } })
    expect(await start()).toMatchObject({ state: 'used' })
  })

  it('starts when the cache cannot be written, and leaves no partial file', async () => {
    const nowhere = join(dir, 'missing-directory', 'gate.v8-cache')
    expect(await start({ cacheFile: nowhere })).toMatchObject({ state: 'absent', ran: { word: 'one' } })
    expect(readdirSync(dir).sort()).toEqual(['dep.cjs', 'gate.cjs'])
  })

  it('leaves the cache alone under --enable-source-maps, where Node loads the script itself', async () => {
    expect(await start({ nodeArgs: ['--enable-source-maps'] })).toMatchObject({
      state: 'off',
      ran: { word: 'one' },
    })
    expect(existsSync(cacheFile)).toBe(false)
  })
})
