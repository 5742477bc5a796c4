import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import { systemClock, type Clock } from './clock.js'
import { invalidRequest } from './errors.js'
import { describeValidation, errorHandler, notFoundHandler } from './error-handler.js'
import { GateLogController, createLogger } from './logger.js'
import { createDecisionCache } from './consent/cache.js'
import { createConsentLookup } from './consent/lookup.js'
import { createKaleyraClient, type KaleyraClient } from './kaleyra/client.js'
import { canCallRoutes } from './routes/can-call.js'
import { healthRoutes, type LifecycleState } from './routes/health.js'
import { registerDocs } from './routes/docs.js'

export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

export interface AppDeps {
  clock?: Clock
  logger?: Logger
  /** Replaces the undici client (tests); the app closes whichever client it uses. */
  kaleyraClient?: KaleyraClient
}

/** Builds the gate without listening: tests and server.ts both start here. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock
  const logger = deps.logger ?? createLogger(config.logLevel)
  // Fastify types its instance by the logger it is given; the app is typed against Fastify's own logger.
  const baseLogger: FastifyBaseLogger = logger
  const app = Fastify({
    loggerInstance: baseLogger,
    logController: new GateLogController(),
    bodyLimit: 64 * 1024,
    requestTimeout: 30_000,
    schemaErrorFormatter: (errors) => invalidRequest(describeValidation(errors[0])),
  }).withTypeProvider<TypeBoxTypeProvider>()

  const client =
    deps.kaleyraClient ??
    createKaleyraClient({ ...config.kaleyra, timeoutMs: config.upstream.timeoutMs, clock, logger })
  const cache = createDecisionCache({ ...config.cache, clock })
  const lookup = createConsentLookup({ cache, client, clock, logger })
  const lifecycle: { state: LifecycleState } = { state: 'starting' }

  app.addHook('onListen', async () => {
    lifecycle.state = 'ready'
  })
  app.addHook('preClose', async () => {
    lifecycle.state = 'shutting_down'
  })
  app.addHook('onSend', async (_req, reply) => {
    // A keep-alive connection whose check finishes while draining would otherwise hold close() open.
    if (lifecycle.state === 'shutting_down') void reply.header('connection', 'close')
  })
  app.addHook('onClose', async () => client.close())
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)

  await registerDocs(app)
  await app.register(healthRoutes, { lifecycle })
  await app.register(canCallRoutes, { lookup })
  return app
}
