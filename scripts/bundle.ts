// `npm run build` step 2 (after tsc has type-checked): src/server.ts and what it imports -> one CommonJS script,
// dist/bundle/gate.cjs, and its loader dist/bundle/consent-gate.mjs (src/code-cache.ts), which runs it from a V8
// code cache beside it. The build fills that cache by starting the gate once; a start then takes about as long as a
// bare Fastify server's (bench scenario 5). ioredis, used only with REDIS_URL, is a script of its own that the gate
// requires when it connects. Source maps are written beside them: `node --enable-source-maps
// dist/bundle/consent-gate.mjs` for stack traces into src/. Then the build stamp, with which `npm start`
// (scripts/start.mjs) knows whether the bundle is up to date.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type Plugin } from 'esbuild'
import { fingerprint, writeStamp } from './build-stamp.mjs'

/** Packages that read their own files at run time (swagger-ui serves its static assets): left in node_modules. */
export const EXTERNAL = ['@fastify/swagger', '@fastify/swagger-ui']

const SOURCES = fileURLToPath(new URL('../src/', import.meta.url))

/**
 * The gate asks undici for its Pool only, but undici's index loads all of it (fetch, WebSocket, caches, mocks):
 * ~1 MB, a tenth of the start-up. Our sources get the Pool and the request API that index attaches to every
 * dispatcher; a name they import that is not here fails the build. Dependencies still get the whole undici.
 */
const POOL_ONLY = `import Dispatcher from 'undici/lib/dispatcher/dispatcher.js'
import api from 'undici/lib/api/index.js'
import Pool from 'undici/lib/dispatcher/pool.js'
Object.assign(Dispatcher.prototype, api)
export { Pool }
`

const undiciPoolOnly: Plugin = {
  name: 'undici-pool-only',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, ({ importer }) =>
      importer.startsWith(SOURCES) ? { path: 'undici', namespace: 'undici-pool-only' } : undefined,
    )
    b.onLoad({ filter: /.*/, namespace: 'undici-pool-only' }, () => ({
      contents: POOL_ONLY,
      loader: 'js',
      resolveDir: SOURCES,
    }))
  },
}

/** The gate's ioredis, a script beside the bundle: required only when the gate connects to Redis. */
const IOREDIS = './ioredis.cjs'

const ioredisApart: Plugin = {
  name: 'ioredis-apart',
  setup(b) {
    b.onResolve({ filter: /^ioredis$/ }, () => ({ path: IOREDIS, external: true }))
  },
}

/** The loader: Node and src/code-cache.ts only. */
const LOADER = `import { fileURLToPath } from 'node:url'
import { runWithCodeCache } from './code-cache.ts'
runWithCodeCache(fileURLToPath(new URL('./gate.cjs', import.meta.url)))
`

/**
 * What a build writes at the top of its directory, this one's or an earlier one's (the ES module chunks before the
 * code cache), the stamp included: a build that fails must not leave an older stamp saying it is up to date.
 */
const BUILT =
  /^(gate|ioredis)\.cjs(\.map)?$|^(consent-gate|(chunk|server|redis-tier|fleet-budget)-[A-Z0-9]+)\.mjs(\.map)?$|^gate\.cjs\.v8-cache(\..+\.tmp)?$|^build-stamp\.json$/

export async function bundle(outdir = 'dist/bundle'): Promise<void> {
  // Nothing of an earlier build stays (a cache or chunk from other sources), and nothing else is touched.
  mkdirSync(outdir, { recursive: true })
  for (const entry of readdirSync(outdir, { withFileTypes: true }))
    if (entry.isFile() && BUILT.test(entry.name)) rmSync(join(outdir, entry.name), { force: true })
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  } as const
  await build({
    ...common,
    entryPoints: { gate: fileURLToPath(new URL('../src/server.ts', import.meta.url)) },
    outdir,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    external: EXTERNAL,
    // The Swagger packages by require(), which the code cache's script can always do.
    supported: { 'dynamic-import': false },
    plugins: [undiciPoolOnly, ioredisApart],
  })
  await build({
    ...common,
    entryPoints: { ioredis: 'ioredis' },
    outdir,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
  })
  await build({
    ...common,
    stdin: { contents: LOADER, resolveDir: SOURCES, sourcefile: 'consent-gate-loader.mjs' },
    outfile: `${outdir}/consent-gate.mjs`,
    format: 'esm',
    sourcemap: false,
  })
  await fillCodeCache(outdir)
}

/**
 * Starts the built gate once, with credentials that are never used, until it is ready, and stops it: on the way
 * out it writes the code cache, with everything start-up compiled. A gate that cannot do that fails the build: it
 * would not start in production either.
 */
async function fillCodeCache(outdir: string): Promise<void> {
  const child = spawn(process.execPath, [join(outdir, 'consent-gate.mjs')], {
    // Only what the gate needs: NODE_OPTIONS or the caller's REDIS_URL would make a cache for another start.
    env: {
      PATH: process.env.PATH,
      KALEYRA_SID: 'CodeCache',
      KALEYRA_API_KEY: 'code-cache',
      KALEYRA_BASE_URL: 'http://127.0.0.1:9',
      HOST: '127.0.0.1',
      PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', resolve)
  })
  // Awaited below; until then a spawn error must not surface as an unhandled rejection.
  exited.catch(() => undefined)
  // The build's own end, even by a signal (a cancelled CI job), never leaves the trial gate running.
  const stop = () => child.kill('SIGKILL')
  const onSignal = (signal: NodeJS.Signals) => {
    stop()
    process.kill(process.pid, signal)
  }
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  process.once('exit', stop)
  for (const signal of signals) process.once(signal, onSignal)
  const timer = setTimeout(stop, 30_000)
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.includes('"consent-gate ready"')) {
        child.kill('SIGTERM')
        break
      }
    }
    child.stdout.resume()
    const code = await exited
    if (code !== 0 || !existsSync(join(outdir, 'gate.cjs.v8-cache')))
      throw new Error(`bundle: the gate's trial start, which fills its code cache, exited ${code}`)
  } finally {
    clearTimeout(timer)
    process.off('exit', stop)
    for (const signal of signals) process.off(signal, onSignal)
  }
}

/**
 * The Kaleyra simulator as one file of its own, dist/simulator/simulator.mjs, for the Dockerfile's `simulator`
 * target: the gate's image never carries it.
 */
export async function bundleSimulator(outdir = 'dist/simulator'): Promise<void> {
  await build({
    entryPoints: { simulator: fileURLToPath(new URL('../src/simulator/main.ts', import.meta.url)) },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  })
}

const entryArg = process.argv[1]
if (entryArg && import.meta.url === pathToFileURL(realpathSync(entryArg)).href) {
  const outdir = process.argv[2] ?? 'dist/bundle'
  // Taken before the build reads the sources: a file saved during the build makes the next start build again.
  const stamp = fingerprint(fileURLToPath(new URL('..', import.meta.url)))
  await bundle(outdir)
  await bundleSimulator(process.argv[3])
  writeStamp(outdir, stamp)
}
