// `npm run build` step 2 (after tsc has type-checked): src/server.ts and what it imports -> ES modules in
// dist/bundle/: consent-gate.mjs, a few lines that turn on Node's compile cache and load the server's chunk, plus the
// chunks loaded only with REDIS_URL. Node loads them in about half the time it takes to resolve and link ~1,000
// separate ES modules (TypeBox alone is 700): bench scenario 5. Source maps are written beside them:
// `node --enable-source-maps dist/bundle/consent-gate.mjs` for stack traces into src/. Then the build stamp, with
// which `npm start` (scripts/start.mjs) knows whether the bundle is up to date.
import { realpathSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type Plugin } from 'esbuild'
import { fingerprint, writeStamp } from './build-stamp.mjs'

/** Packages that read their own files at run time (swagger-ui serves its static assets): left in node_modules. */
export const EXTERNAL = ['@fastify/swagger', '@fastify/swagger-ui']

const SOURCES = fileURLToPath(new URL('../src/', import.meta.url))

/**
 * The entry: Node 22.1+ keeps the compiled code of the modules loaded after `enableCompileCache()` (in
 * NODE_COMPILE_CACHE, else the temporary directory) and the next start skips most of their parsing; Node 20 has no
 * such function, and starts as before.
 */
const ENTRY = `import module from 'node:module'
module.enableCompileCache?.()
await import('./server.ts')
`

const entry: Plugin = {
  name: 'consent-gate-entry',
  setup(b) {
    b.onResolve({ filter: /^consent-gate-entry$/ }, () => ({
      path: 'entry',
      namespace: 'consent-gate-entry',
    }))
    b.onLoad({ filter: /.*/, namespace: 'consent-gate-entry' }, () => ({
      contents: ENTRY,
      loader: 'js',
      resolveDir: SOURCES,
    }))
  },
}

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

export async function bundle(outdir = 'dist/bundle'): Promise<void> {
  await build({
    entryPoints: { 'consent-gate': 'consent-gate-entry' },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    external: EXTERNAL,
    plugins: [entry, undiciPoolOnly],
    // CommonJS dependencies call require() for Node's own modules; an ES module has none of its own.
    banner: {
      js: "import { createRequire as __gateRequire } from 'node:module'; const require = __gateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  })
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
