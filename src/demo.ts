import closeWithGrace from 'close-with-grace'
import { buildApp } from './http/app.js'
import { loadConfig } from './config/load.js'
import { demoGateEnv, demoUpstream, loadSimulatorOptions } from './simulator/options.js'
import { createLogger } from './observability/logger.js'
import { createKaleyraSimulator } from './simulator/simulator.js'
import { DEMO_BUSINESS, demoChecks, demoConsents } from './simulator/seed.js'

/**
 * `npm run demo`: the simulator seeded with one consent per reason, and the gate pointed at it: at its Kaleyra
 * API by default, at its Meta Graph API with UPSTREAM=meta. Nothing here reaches Kaleyra or Meta; `npm start`
 * never falls back to this.
 */
const options = loadSimulatorOptions(process.env, 0)
const sim = createKaleyraSimulator({ consents: options.seed === 'demo' ? demoConsents(Date.now()) : [] })
await sim.listen(options.port, options.host)

const config = loadConfig(demoGateEnv(process.env, sim))
const app = await buildApp(config, { logger: createLogger(config.logLevel) })
const url = await app.listen({ host: config.host, port: config.port })

closeWithGrace({ delay: 5000 }, async () => {
  await app.close()
  await sim.close()
})

const meta = demoUpstream(process.env) === 'meta'
const upstream = meta
  ? `Meta Graph API simulator on ${sim.url} (WABA ${sim.wabaId}, numbers discovered from it)`
  : `Kaleyra simulator on ${sim.url}`
const q = (user: string) =>
  `${url}/can-call?business=${encodeURIComponent(DEMO_BUSINESS)}&user=${encodeURIComponent(user)}`
const lines = [
  `consent-gate demo: gate on ${url}, upstream ${meta ? 'meta' : 'kaleyra'}: ${upstream}`,
  '',
  'Try each reason:',
  ...demoChecks(meta ? 'meta' : 'kaleyra').map(({ user, expect }) => `  curl -s '${q(user)}'   # ${expect}`),
  `  curl -s '${url}/can-call?business=${encodeURIComponent(DEMO_BUSINESS)}&user=abc'   # 400 invalid_request`,
  '',
  `Run a check twice to see "source": "cache"; add &fresh=true to skip the cache.`,
  `${meta ? 'UPSTREAM=kaleyra' : 'UPSTREAM=meta'} npm run demo runs the same demo against the other upstream.`,
  `Health: ${url}/healthz  Readiness: ${url}/readyz  API docs: ${url}/docs`,
  'Ctrl-C stops both.',
]
process.stdout.write(`${lines.join('\n')}\n`)
