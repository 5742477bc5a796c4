// A stand-in for Kaleyra and Meta's Graph API during local runs and demos, as its own process: it reads its own
// variables (options.ts) and the credentials it expects under the gate's names, never the rest of the service's.
import { systemClock } from '../lib/clock.js'
import { createKaleyraSimulator } from './simulator.js'
import { DEMO_BUSINESS, demoConsents } from './seed.js'
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
  metaAccessToken: env.META_ACCESS_TOKEN || undefined,
  wabaId: env.META_WABA_ID || undefined,
  consents: seed === 'demo' ? demoConsents(systemClock.now()) : [],
})

try {
  const url = await simulator.listen(port, host)
  // The SID and the ids are part of every URL, so they are not secrets; the API key and the token never appear.
  const seeded = seed === 'demo' ? ` (${DEMO_BUSINESS}=${simulator.phoneNumberIdOf(DEMO_BUSINESS)})` : ''
  console.log(
    `Kaleyra simulator listening on ${url}/v2/${simulator.sid}/whatsapp/call_permissions (seed ${seed})\n` +
      `Meta Graph API simulator on ${url}/<vNN.N>/<PHONE_NUMBER_ID>/call_permissions, numbers listed at ` +
      `${url}/v23.0/${simulator.wabaId}/phone_numbers${seeded}`,
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
