import { buildApp } from '../src/http/app.js'
import { loadConfig } from '../src/config/load.js'
import { createLogger } from '../src/observability/logger.js'
import { createKaleyraSimulator } from '../src/simulator/simulator.js'
import { DEMO_BUSINESS, DEMO_USERS, demoConsents } from '../src/simulator/seed.js'

/**
 * Prints one /metrics scrape of a gate that has answered every reason, an error and a bad request, so
 * `.ci/run` can hand it to `promtool check metrics`.
 */
const sim = createKaleyraSimulator({ consents: demoConsents(Date.now()) })
await sim.listen(0)
const config = loadConfig({ KALEYRA_SID: sim.sid, KALEYRA_API_KEY: sim.apiKey, KALEYRA_BASE_URL: sim.url })
const app = await buildApp(config, { logger: createLogger('silent') })
const url = await app.listen({ port: 0 })
try {
  const check = (user: string) =>
    fetch(`${url}/can-call?business=${encodeURIComponent(DEMO_BUSINESS)}&user=${encodeURIComponent(user)}`)
  for (const user of Object.values(DEMO_USERS)) await (await check(user)).text()
  await (await check(DEMO_USERS.temporaryGranted)).text()
  sim.setFault({ kind: 'status', status: 500 }, 1)
  await (
    await fetch(`${url}/can-call?business=${encodeURIComponent(DEMO_BUSINESS)}&user=%2B919999999999`)
  ).text()
  await (await fetch(`${url}/can-call?business=bad&user=bad`)).text()
  process.stdout.write(await (await fetch(`${url}/metrics`)).text())
} finally {
  await app.close()
  await sim.close()
}
