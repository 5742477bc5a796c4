import closeWithGrace from 'close-with-grace'
import { buildApp } from './http/app.js'
import { ConfigError, loadConfig, type Config } from './config/load.js'
import { createLogger } from './observability/logger.js'

/** How long in-flight checks get to finish after SIGTERM before the process gives up and exits 1. */
const SHUTDOWN_GRACE_MS = 10_000

function configOrExit(): Config {
  try {
    return loadConfig(process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    // The message names the variable and never its value, so it is safe to print as is.
    process.stderr.write(`consent-gate: invalid configuration: ${err.message}\n`)
    process.exit(1)
  }
}

/**
 * No top-level await: the bundle is a CommonJS script, compiled with a V8 code cache (scripts/bundle.ts), and
 * must run under tsx and as tsc's ES module alike.
 */
async function main(): Promise<void> {
  const config = configOrExit()
  const logger = createLogger(config.logLevel)
  const app = await buildApp(config, { logger })

  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error')
    else logger.info({ signal }, 'shutting down: draining in-flight checks')
    logger.flush()
    await app.close()
  })

  try {
    await app.listen({ host: config.host, port: config.port })
    // The host only: a proxy URL could carry credentials in its path or query.
    const { kaleyra, meta } = config
    logger.info(
      meta
        ? { upstream: 'meta', graph: new URL(meta.baseUrl).host, version: meta.version }
        : { upstream: 'kaleyra', kaleyra: kaleyra && new URL(kaleyra.baseUrl).host, region: kaleyra?.region },
      'consent-gate ready',
    )
    // Out now, not with the next batch of lines: whoever watches the log for these need not wait.
    logger.flush()
  } catch (err) {
    logger.fatal({ err }, 'could not listen')
    process.exit(1)
  }
}

main().catch((err: unknown) => {
  // Before a logger, or from building the app (a Redis module that cannot load): the stack, then exit 1.
  process.stderr.write(
    `consent-gate: could not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  )
  process.exit(1)
})
