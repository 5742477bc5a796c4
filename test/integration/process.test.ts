import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { request } from 'undici'
import { bundle } from '../../scripts/bundle.js'
import { createKaleyraSimulator, type KaleyraSimulator } from '../../src/simulator/simulator.js'
import { grant } from '../helpers/gate.js'
import { REDIS_URL, freshPrefix } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const SERVER = new URL('../../src/server.ts', import.meta.url).pathname
// Inside the repository, so the packages the bundle leaves external resolve from node_modules as in production.
const BUNDLE_DIR = new URL(`../../dist/test-bundle-${process.pid}/`, import.meta.url).pathname
const USER = '+919000000001'

let child: ChildProcess | undefined
let sim: KaleyraSimulator | undefined
afterEach(async () => {
  child?.kill('SIGKILL')
  await sim?.close()
})
beforeAll(async () => {
  // What an earlier build and someone else left there: the build removes the first, never the second.
  mkdirSync(BUNDLE_DIR, { recursive: true })
  for (const name of ['server-6XPTJBQX.mjs', 'chunk-ID42DHRN.mjs.map', 'build-stamp.json', 'notes.txt'])
    writeFileSync(`${BUNDLE_DIR}${name}`, 'old')
  await bundle(BUNDLE_DIR)
})
afterAll(() => rm(BUNDLE_DIR, { recursive: true, force: true }))

/** The sources under tsx, and the bundle `npm run build` makes and `npm start` (and the image) runs. */
const ENTRIES = [
  { name: 'src/server.ts', args: ['--import', 'tsx', SERVER] },
  { name: 'the built bundle', args: [`${BUNDLE_DIR}consent-gate.mjs`] },
]
let args: string[] = []

function startServer(env: Record<string, string>) {
  const proc = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  return { proc, out: () => stdout, err: () => stderr }
}

/** The port the server printed in its "listening" log line. */
async function listeningUrl(out: () => string): Promise<string> {
  const listening = () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out())?.[1]
  await waitFor(() => listening() !== undefined, 10_000, 50).catch(() => {
    throw new Error(`server did not start: ${out()}`)
  })
  return listening()!
}

describe.each(ENTRIES)('the server process: $name', (entry) => {
  beforeAll(() => {
    args = entry.args
  })

  it('refuses to start without Kaleyra credentials, naming the variable', async () => {
    const s = startServer({})
    child = s.proc
    const [code] = await once(s.proc, 'exit')
    expect(code).toBe(1)
    expect(s.err()).toContain('KALEYRA_SID')
  })

  it('drains an in-flight check on SIGTERM and exits 0', async () => {
    sim = createKaleyraSimulator({ consents: [grant(USER, { is_permanent: true, expiresAt: null })] })
    await sim.listen(0)
    const s = startServer({
      KALEYRA_SID: sim.sid,
      KALEYRA_API_KEY: sim.apiKey,
      KALEYRA_BASE_URL: sim.url,
      PORT: '0',
    })
    child = s.proc
    const url = await listeningUrl(s.out)
    sim.setFault({ kind: 'latency', ms: 400 })
    const inflight = request(`${url}/can-call?business=%2B918000000001&user=%2B919000000001`)
    await waitFor(() => sim!.requests.length > 0, 5000)
    s.proc.kill('SIGTERM')
    const res = await inflight
    expect(res.statusCode).toBe(200)
    expect(await res.body.json()).toMatchObject({ allowed: true, reason: 'consent_granted' })
    const [code] = await once(s.proc, 'exit')
    expect({ code, stderr: s.err() }).toEqual({ code: 0, stderr: '' })
    expect(s.out()).not.toContain(sim.apiKey)
  })
})

/** The built bundle against a fresh simulator, listening. */
async function startBundle(env: Record<string, string> = {}) {
  sim = createKaleyraSimulator({ consents: [] })
  await sim.listen(0)
  args = [`${BUNDLE_DIR}consent-gate.mjs`]
  const s = startServer({
    KALEYRA_SID: sim.sid,
    KALEYRA_API_KEY: sim.apiKey,
    KALEYRA_BASE_URL: sim.url,
    PORT: '0',
    ...env,
  })
  child = s.proc
  return { s, url: await listeningUrl(s.out) }
}

describe('the built bundle and its code cache', () => {
  it('replaces what an earlier build left, the stamp included, and nothing else', () => {
    expect(readdirSync(BUNDLE_DIR).sort()).toEqual(
      [
        'consent-gate.mjs',
        'gate.cjs',
        'gate.cjs.map',
        'gate.cjs.v8-cache',
        'ioredis.cjs',
        'ioredis.cjs.map',
        'notes.txt',
      ].sort(),
    )
  })

  it('starts from the cache its build filled, and leaves it as it is', async () => {
    const cache = `${BUNDLE_DIR}gate.cjs.v8-cache`
    const filled = statSync(cache).mtimeMs
    const { s, url } = await startBundle()
    expect((await request(`${url}/readyz`)).statusCode).toBe(200)
    s.proc.kill('SIGTERM')
    const [code] = await once(s.proc, 'exit')
    expect(code).toBe(0)
    // A start that did not use the cache writes a new one on its way out.
    expect(statSync(cache).mtimeMs).toBe(filled)
  })

  it.runIf(REDIS_URL)(
    'connects to Redis, whose client is a script of its own beside the bundle',
    async () => {
      const { url } = await startBundle({ REDIS_URL: REDIS_URL!, REDIS_KEY_PREFIX: freshPrefix() })
      const shared = async () =>
        ((await (await request(`${url}/readyz`)).body.json()) as { shared: { mode: string } }).shared.mode
      await waitFor(async () => (await shared()) === 'connected', 10_000)
    },
  )
})
