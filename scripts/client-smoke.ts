// After `npm run build` (.ci/run): `import { createClient } from 'consent-gate/client'` works as a dialer writes
// it, from JavaScript under plain node and from TypeScript under tsc (NodeNext), through the package's "exports".
// Both ask a stand-in gate; the TypeScript one also proves that the published types make a dialer narrow the
// result before it reads a decision's fields.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = fileURLToPath(new URL('../', import.meta.url))
const dir = `${root}dist/client-smoke/`
if (!existsSync(`${root}dist/client/index.js`) || !existsSync(`${root}dist/client/index.d.ts`)) {
  throw new Error('dist/client is missing: run npm run build first')
}

const PAIR = { business: '+918000000001', user: '+919000000001' }
const JS = `import { createClient } from 'consent-gate/client'
const client = createClient({ baseUrl: process.env.GATE_URL })
console.log(JSON.stringify(await client.canCall(${JSON.stringify(PAIR)})))
await client.close()
`
const TS = `import { createClient, type CanCallResult } from 'consent-gate/client'
const client = createClient({ baseUrl: process.env.GATE_URL ?? '' })
const result: CanCallResult = await client.canCall(${JSON.stringify(PAIR)})
// @ts-expect-error: a decision's fields are there only once the verdict says the gate decided
void result.consent
if (result.verdict === 'allowed' && result.consent?.can_perform_action) console.log(JSON.stringify(result))
await client.close()
`
const TSCONFIG = {
  compilerOptions: {
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    strict: true,
    types: ['node'],
    outDir: 'out',
    rootDir: '.',
  },
  files: ['smoke.ts'],
}

const decision = {
  ...PAIR,
  allowed: true,
  reason: 'consent_granted',
  consent: {
    response: 'accept',
    is_permanent: true,
    response_source: 'user_action',
    can_perform_action: true,
    expires_at: null,
  },
  source: 'upstream',
  checked_at: new Date().toISOString(),
  decision_id: 'smoke',
}
const run = promisify(execFile)
const gate = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(decision))
})
await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r))
const env = { ...process.env, GATE_URL: `http://127.0.0.1:${(gate.address() as { port: number }).port}` }

/** Runs node on a program that asks the stand-in gate (so not a sync spawn), expecting the allowed decision. */
async function expectAllowed(what: string, program: string): Promise<void> {
  const { stdout: out } = await run(process.execPath, [program], { cwd: dir, env, timeout: 30_000 })
  const last = JSON.parse(out.trim().split('\n').pop() ?? '') as { verdict?: string; decision_id?: string }
  if (last.verdict !== 'allowed' || last.decision_id !== 'smoke') throw new Error(`${what}: ${out}`)
  console.log(`client smoke: ${what}: ok`)
}

try {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  await writeFile(`${dir}smoke.mjs`, JS)
  await writeFile(`${dir}smoke.ts`, TS)
  await writeFile(`${dir}tsconfig.json`, JSON.stringify(TSCONFIG))
  await expectAllowed('JavaScript under node', 'smoke.mjs')
  await run(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], { cwd: dir })
  await expectAllowed('TypeScript under tsc', 'out/smoke.js')
} finally {
  gate.close()
  await rm(dir, { recursive: true, force: true })
}
