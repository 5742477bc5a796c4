// A stand-in for Kaleyra during local runs and demos, as its own process: it reads its own variables
// (options.ts), never the service's settings.
import { systemClock } from '../lib/clock.js'
import { createKaleyraSimulator } from './simulator.js'
import { demoConsents } from './seed.js'
import { loadSimulatorOptions, type SimulatorOptions } from './options.js'

function fail(message: string): never {
  console.error(`simulator: ${message}`)
  process.exit(1)
}

let options: SimulatorOptions
try {
  options = loadSimulatorOptions(process.env, 8081)
} catch (err) {
  fail((err as Error).message)
}
const { host, port, seed } = options
const env = process.env
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
