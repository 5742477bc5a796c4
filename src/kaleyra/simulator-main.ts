// A stand-in for Kaleyra during local runs and demos. It reads its own few variables instead of
// src/config/load.ts, because it is a separate process and must not require the service's settings.
import { systemClock } from '../lib/clock.js'
import { createKaleyraSimulator } from './simulator.js'
import { demoConsents } from './simulator-seed.js'

const SEEDS = ['demo', 'empty'] as const

function fail(message: string): never {
  console.error(`simulator: ${message}`)
  process.exit(1)
}

function readPort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 8081
  const port = /^\d+$/.test(raw) ? Number(raw) : NaN
  if (!(port >= 0 && port <= 65535)) fail('SIMULATOR_PORT must be an integer from 0 to 65535')
  return port
}

function readSeed(raw: string | undefined): (typeof SEEDS)[number] {
  const seed = raw === undefined || raw === '' ? 'demo' : raw
  const known = SEEDS.find((s) => s === seed)
  return known ?? fail(`SIMULATOR_SEED must be one of ${SEEDS.join(', ')}`)
}

const env = process.env
const host = env.SIMULATOR_HOST || '127.0.0.1'
const port = readPort(env.SIMULATOR_PORT)
const seed = readSeed(env.SIMULATOR_SEED)
const simulator = createKaleyraSimulator({
  sid: env.KALEYRA_SID || undefined,
  apiKey: env.KALEYRA_API_KEY || undefined,
  consents: seed === 'demo' ? demoConsents(systemClock.now()) : [],
})

try {
  const url = await simulator.listen(port, host)
  // The SID is part of every URL, so it is not a secret; the API key never appears here.
  console.log(
    `Kaleyra simulator listening on ${url}/v2/${simulator.sid}/whatsapp/call_permissions (seed ${seed})`,
  )
} catch (err) {
  fail(`cannot listen on ${host}:${port}: ${(err as Error).message}`)
}

function shutdown(): void {
  simulator.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}

process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)
