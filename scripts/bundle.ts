// `npm run build` step 2: dist/ as tsc wrote it -> one ES module file per entry (plus lazily loaded chunks).
// Node loads a bundle in about half the time it takes to resolve and link ~1,000 separate ES modules (TypeBox
// alone is 700): bench scenario 5.
import { build } from 'esbuild'

/** Packages that read their own files at run time (swagger-ui serves its static assets): left in node_modules. */
export const EXTERNAL = ['@fastify/swagger', '@fastify/swagger-ui']

export async function bundle(outdir = 'dist/bundle'): Promise<void> {
  await build({
    entryPoints: { 'consent-gate': 'src/server.ts' },
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

if (import.meta.url === `file://${process.argv[1]}`) await bundle(process.argv[2])
