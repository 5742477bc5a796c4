import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { createLogger } from './logger.js'

/** The OpenAPI document as the route schemas generate it (no network, nothing listens). */
export async function generateOpenApiYaml(): Promise<string> {
  const config = loadConfig({ KALEYRA_SID: 'OPENAPI', KALEYRA_API_KEY: 'unused' })
  const app = await buildApp(config, { logger: createLogger('silent') })
  try {
    await app.ready()
    return app.swagger({ yaml: true })
  } finally {
    await app.close()
  }
}
