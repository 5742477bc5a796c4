import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { createLogger } from './logger.js'
import { createKaleyraSimulator } from './kaleyra/simulator.js'
import { DEMO_BUSINESS, DEMO_USERS, demoConsents } from './kaleyra/simulator-seed.js'

/**
 * `npm run demo`: the Kaleyra simulator seeded with one consent per reason, and the gate pointed at it.
 * Nothing here reaches Kaleyra; `npm start` never falls back to this.
 */
const sim = createKaleyraSimulator({ consents: demoConsents(Date.now()) })
await sim.listen(Number(process.env.SIMULATOR_PORT ?? 0))

const config = loadConfig({
  ...process.env,
  KALEYRA_SID: sim.sid,
  KALEYRA_API_KEY: sim.apiKey,
  KALEYRA_BASE_URL: sim.url,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
})
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
