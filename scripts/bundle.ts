// `npm run build` step 2 (after tsc has type-checked): src/server.ts and what it imports -> one ES module,
// dist/bundle/consent-gate.mjs, plus the chunk loaded only with REDIS_URL. Node loads it in about half the time it
// takes to resolve and link ~1,000 separate ES modules (TypeBox alone is 700): bench scenario 5. Source maps are
// written beside it: `node --enable-source-maps dist/bundle/consent-gate.mjs` for stack traces into src/.
import { realpathSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

/** Packages that read their own files at run time (swagger-ui serves its static assets): left in node_modules. */
export const EXTERNAL = ['@fastify/swagger', '@fastify/swagger-ui']

export async function bundle(outdir = 'dist/bundle'): Promise<void> {
  await build({
    entryPoints: { 'consent-gate': fileURLToPath(new URL('../src/server.ts', import.meta.url)) },
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    external: EXTERNAL,
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

const entry = process.argv[1]
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  await bundle(process.argv[2])
  await bundleSimulator(process.argv[3])
}
