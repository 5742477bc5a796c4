import closeWithGrace from 'close-with-grace'
import { buildApp } from './http/app.js'
import { loadConfig } from './config/load.js'
import { demoGateEnv, loadSimulatorOptions } from './simulator/options.js'
import { createLogger } from './observability/logger.js'
import { createKaleyraSimulator } from './simulator/simulator.js'
import { DEMO_BUSINESS, DEMO_USERS, demoConsents } from './simulator/seed.js'

/**
 * `npm run demo`: the Kaleyra simulator seeded with one consent per reason, and the gate pointed at it.
 * Nothing here reaches Kaleyra; `npm start` never falls back to this.
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

const q = (user: string) =>
  `${url}/can-call?business=${encodeURIComponent(DEMO_BUSINESS)}&user=${encodeURIComponent(user)}`
const lines = [
  `consent-gate demo: gate on ${url}, Kaleyra simulator on ${sim.url}`,
  '',
  'Try each reason:',
  `  curl -s '${q(DEMO_USERS.temporaryGranted)}'   # consent_granted (temporary, 7 days)`,
  `  curl -s '${q(DEMO_USERS.permanentGranted)}'   # consent_granted (permanent)`,
  `  curl -s '${q(DEMO_USERS.rejected)}'   # consent_rejected`,
  `  curl -s '${q(DEMO_USERS.expired)}'   # consent_expired`,
  `  curl -s '${q(DEMO_USERS.limitReached)}'   # action_not_permitted (call limit reached)`,
  `  curl -s '${q(DEMO_USERS.noConsent)}'   # no_consent`,
  `  curl -s '${url}/can-call?business=${encodeURIComponent(DEMO_BUSINESS)}&user=abc'   # 400 invalid_request`,
  '',
  `Run a check twice to see "source": "cache"; add &fresh=true to skip the cache.`,
  `Health: ${url}/healthz  Readiness: ${url}/readyz  API docs: ${url}/docs`,
  'Ctrl-C stops both.',
]
process.stdout.write(`${lines.join('\n')}\n`)
