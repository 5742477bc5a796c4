import Fastify, { type FastifyBaseLogger } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { App } from './app-type.js'
import type { Logger } from 'pino'
import type { Config } from '../config/load.js'
import { systemClock, type Clock } from '../lib/clock.js'
import { invalidRequest } from '../lib/errors.js'
import {
  clientErrorHandler,
  describeValidation,
  errorHandler,
  mainValidationError,
  notFoundHandler,
} from './error-handler.js'
import { createLogger } from '../observability/logger.js'
import { GateLogController, requestLoggerFactory } from './request-logging.js'
import { createGate } from './gate.js'
import { canCallRoutes } from './routes/can-call.js'
import { healthRoutes, type LifecycleState } from './routes/health.js'
import { registerDocs } from './routes/docs.js'
import { metricsRoutes } from './routes/metrics.js'
import { adminRoutes } from './routes/admin.js'
import { callOutcomeRoutes } from './routes/call-outcomes.js'
import { webhookRoutes } from './routes/webhooks.js'
import { createMetrics } from '../observability/metrics.js'
import { createDecisionRecorder } from '../observability/decision-log.js'
import { registerCallerAuth } from './plugins/caller-auth.js'
import { registerShedding } from './plugins/shedding.js'
import { registerDraining } from './plugins/draining.js'

export type { App }

export interface AppDeps {
  clock?: Clock
  logger?: Logger
  /** How often load shedding samples the event loop (ms). Default 1000; tests sample faster. */
  shedSampleIntervalMs?: number
  /** Node process metrics (default on); off for tests that build many apps. */
  defaultMetrics?: boolean
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
    childLoggerFactory: requestLoggerFactory,
    bodyLimit: 64 * 1024,
    requestTimeout: 30_000,
    schemaErrorFormatter: (errors) => invalidRequest(describeValidation(mainValidationError(errors))),
    // A path Fastify cannot decode (`/%zz`) and a request Node cannot parse get the envelope too.
    frameworkErrors: (err, req, reply) => void errorHandler(err, req, reply),
    clientErrorHandler,
    // Requests arriving during the drain get the gate's envelope (plugins/draining.ts), not Fastify's bare 503.
    return503OnClosing: false,
    // Route schemas are TypeBox's output, checked by the OpenAPI drift test: validating each against the JSON
    // Schema meta-schema at start-up (compiling the meta-schema first) cost ~10 % of the start-up.
    ajv: { customOptions: { validateSchema: false } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  const metrics = createMetrics({ defaultMetrics: deps.defaultMetrics })
  const gate = await createGate(config, { clock, logger, metrics })
  const recorder = createDecisionRecorder({ logger, metrics, userNumbers: config.logUserNumbers })
  const lifecycle: { state: LifecycleState } = { state: 'starting' }

  app.addHook('onListen', async () => {
    lifecycle.state = 'ready'
  })
  app.addHook('preClose', async () => {
    lifecycle.state = 'shutting_down'
  })
  // Hot-path hooks take callbacks: an async hook costs a promise per request.
  app.addHook('onSend', (_req, reply, payload, done) => {
    // A keep-alive connection whose check finishes while draining would otherwise hold close() open.
    if (lifecycle.state === 'shutting_down') void reply.header('connection', 'close')
    done(null, payload)
  })
  // After the answer is sent: decision log lines (req.decisions, filled by /can-call) and counters never delay
  // a dialer. One hook for both: each hook costs every request a step of Fastify's hook runner.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.observeRequest(req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
    // Only the check routes: the error handler fills req.decisions on any route, and a refused webhook or
    // call outcome is not a decision.
    if (req.decisions && req.routeOptions.config.decisionLog)
      for (const event of req.decisions) recorder.record(event)
    done()
  })
  app.addHook('onClose', async () => gate.close())
  app.decorateRequest('decisions', null)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)

  registerDraining(app, () => lifecycle.state === 'shutting_down')
  await registerShedding(app, config.shed, deps.shedSampleIntervalMs)
  registerCallerAuth(app, config.apiTokens)
  await registerDocs(app)
  await app.register(healthRoutes, { lifecycle, breaker: gate.breaker, shared: gate.shared })
  await app.register(metricsRoutes, { registry: metrics.registry })
  await app.register(canCallRoutes, { lookup: gate.lookup })
  await app.register(callOutcomeRoutes, { events: gate.events, streaks: gate.streaks, metrics })
  await app.register(webhookRoutes, { webhooks: config.webhooks, events: gate.events, metrics })
  if (config.adminToken)
    await app.register(adminRoutes, { token: config.adminToken, events: gate.events, metrics })
  return app
}
