import { buildApp } from './app.js'
import { loadConfig } from '../config/load.js'
import { createLogger } from '../observability/logger.js'

/** The OpenAPI document as the route schemas generate it (no network, nothing listens). */
export async function generateOpenApiYaml(): Promise<string> {
  // Placeholder secrets so that every optional surface (webhooks, admin) is registered and documented.
  const placeholder = 'openapi-placeholder-secret'
  const config = loadConfig({
    KALEYRA_SID: 'OPENAPI',
    KALEYRA_API_KEY: placeholder,
    WEBHOOK_BEARER_TOKEN: placeholder,
    META_APP_SECRET: placeholder,
    META_VERIFY_TOKEN: placeholder,
    ADMIN_API_TOKEN: placeholder,
  })
  const app = await buildApp(config, { logger: createLogger('silent') })
  try {
    await app.ready()
    return (await app.openapi())({ yaml: true })
  } finally {
    await app.close()
  }
}
