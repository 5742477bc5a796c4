/**
 * The house's layers, one direction only (issue 12, ../shared/STYLE.md):
 *   entry points (server, demo, cli/ over client/) -> http/ -> consent/ (the core) -> ports and adapters (upstream/, shared/)
 *   -> leaves (config/, schemas/, observability/, lib/).
 * The core asks through ports (upstream/port.ts, upstream/errors.ts, shared/port.ts), never an adapter; only the
 * HTTP layer knows Fastify; only the adapters know undici and ioredis; the simulator reads only Kaleyra's wire types.
 * `npm run lint` runs this; a violation names its rule.
 */
// The CLI and the client it is built on sit with the entry points: nothing in the service imports them.
const ENTRY = '^src/(server|demo|demo-options)[.]ts$|^src/(cli|client)/'
const HTTP = '^src/http/'
const CORE = '^src/consent/'
const ADAPTERS = '^src/(upstream|shared)/'
const LEAVES = '^src/(config|schemas|observability|lib)/'
const SIMULATOR = '^src/simulator/'

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle means two modules are one: merge them, or move what both need into a leaf.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'leaves-stay-leaves',
      comment: 'config/, schemas/, observability/ and lib/ import nothing above them.',
      severity: 'error',
      from: { path: LEAVES },
      to: { path: `${ENTRY}|${HTTP}|${CORE}|${ADAPTERS}|${SIMULATOR}` },
    },
    {
      name: 'adapters-know-no-core',
      comment:
        'upstream/ and shared/ implement ports; they never import the core, the HTTP layer or entry points.',
      severity: 'error',
      from: { path: ADAPTERS },
      to: { path: `${ENTRY}|${HTTP}|${CORE}|${SIMULATOR}` },
    },
    {
      name: 'core-asks-through-ports',
      comment:
        'The consent core imports upstream/port.ts, upstream/errors.ts and shared/port.ts, never an adapter.',
      severity: 'error',
      from: { path: CORE },
      to: { path: ADAPTERS, pathNot: '^src/upstream/(port|errors)[.]ts$|^src/shared/port[.]ts$' },
    },
    {
      name: 'core-knows-no-http',
      comment: 'The consent core never imports the HTTP layer, entry points or the simulator.',
      severity: 'error',
      from: { path: CORE },
      to: { path: `${ENTRY}|${HTTP}|${SIMULATOR}` },
    },
    {
      name: 'http-below-entry-points',
      comment: 'The HTTP layer is built by entry points, never the other way round.',
      severity: 'error',
      from: { path: HTTP },
      to: { path: `${ENTRY}|${SIMULATOR}` },
    },
    {
      name: 'only-http-knows-fastify',
      comment: 'Fastify and its plugins belong to src/http/.',
      severity: 'error',
      from: { path: '^src/', pathNot: HTTP },
      to: { path: 'node_modules/(fastify|@fastify/|fastify-plugin)' },
    },
    {
      name: 'only-upstream-adapters-know-undici',
      comment:
        'HTTP to Kaleyra and Meta goes through their adapters, src/upstream/kaleyra/ and src/upstream/meta/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/upstream/(kaleyra|meta)/' },
      to: { path: 'node_modules/undici/' },
    },
    {
      name: 'only-redis-adapter-knows-ioredis',
      comment: 'Redis goes through src/shared/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/shared/' },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'simulator-reads-only-wire-types',
      comment:
        'The simulator stands in for Kaleyra: it may know its wire format and lib/, nothing of the gate.',
      severity: 'error',
      from: { path: SIMULATOR },
      to: { path: '^src/', pathNot: `${SIMULATOR}|^src/upstream/kaleyra/wire[.]ts$|^src/lib/` },
    },
    {
      name: 'cli-uses-the-client',
      comment:
        'The CLI asks the gate over HTTP like any dialer: it imports the client and lib/, never the service.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: '^src/(cli|client|lib)/' },
    },
    {
      name: 'client-stands-alone',
      comment:
        'src/client/ ships to dialers (consent-gate/client): it imports only itself and Node built-ins.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { pathNot: '^src/client/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'nothing-ships-the-simulator',
      comment: 'Only the demo starts a simulator; the service never imports it.',
      severity: 'error',
      from: { path: '^src/', pathNot: `${SIMULATOR}|^src/(demo|demo-options)[.]ts$` },
      to: { path: SIMULATOR },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle of types is still two modules that cannot be read apart.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
}
