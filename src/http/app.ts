import Fastify, { type FastifyBaseLogger } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { App } from './app-type.js'
import type { Logger } from 'pino'
import type { Config } from '../config/load.js'
import { systemClock, type Clock } from '../lib/clock.js'
import { invalidRequest } from '../lib/errors.js'
import { clientErrorHandler, describeValidation, errorHandler, mainValidationError } from './error-handler.js'
import { createLogger } from '../observability/logger.js'
import { createMetrics } from '../observability/metrics.js'
import { createDecisionRecorder } from '../observability/decision-log.js'
import { debugOn, GateLogController, requestLoggerFactory } from './request-logging.js'
import { createGate } from './gate.js'
import { createBearerCheck } from './auth.js'
import { createCacheHits } from './cache-hits.js'
import { createFrontDoor, installFrontDoor } from './front-door.js'
import { lazySchemaCompilers } from './lazy-schemas.js'
import { lifecycle } from './plugins/lifecycle.js'
import { decisions } from './plugins/decisions.js'
import { errorEnvelope } from './plugins/error-envelope.js'
import { draining } from './plugins/draining.js'
import { shedding } from './plugins/shedding.js'
import { callerAuth } from './plugins/caller-auth.js'
import { docs } from './routes/docs.js'
import { healthRoutes } from './routes/health.js'
import { metricsRoutes } from './routes/metrics.js'
import { canCallRoutes } from './routes/can-call.js'
import { callOutcomeRoutes } from './routes/call-outcomes.js'
import { webhookRoutes } from './routes/webhooks.js'
import { adminRoutes } from './routes/admin.js'

export type { App }

export interface AppDeps {
  clock?: Clock
  logger?: Logger
  /** How often load shedding samples the event loop (ms). Default 1000; tests sample faster. */
  shedSampleIntervalMs?: number
  /** Node process metrics (default on); off for tests that build many apps. */
  defaultMetrics?: boolean
  /** Compile every route's schemas before listening, as Fastify does by default (a test proves they all compile). */
  eagerSchemas?: boolean
  /** false: every request goes to Fastify (a test compares the two paths). Default true. */
  frontDoor?: boolean
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
    ...(deps.eagerSchemas ? {} : { schemaController: { compilersFactory: lazySchemaCompilers() } }),
  }).withTypeProvider<TypeBoxTypeProvider>()

  const metrics = createMetrics({ defaultMetrics: deps.defaultMetrics })
  const gate = await createGate(config, { clock, logger, metrics })

  await app.register(lifecycle, { close: () => gate.close() })
  // Request decorations come before anything that creates a child scope: each scope copies them when created.
  const recorder = createDecisionRecorder({ logger, metrics, userNumbers: config.logUserNumbers })
  await app.register(decisions, { recorder, metrics })
  await app.register(errorEnvelope)
  // Root hooks reach only the route plugins registered after them, and run in this order: a draining gate says so
  // whatever its load, and an overloaded one answers before it hashes a token.
  await app.register(draining)
  await app.register(shedding, { shed: config.shed, sampleIntervalMs: deps.shedSampleIntervalMs })
  await app.register(callerAuth, { tokens: config.apiTokens })
  // Before the routes: swagger documents only the routes registered after it.
  await app.register(docs)
  await app.register(healthRoutes, { lifecycle: app.lifecycle, breaker: gate.breaker, shared: gate.shared })
  await app.register(metricsRoutes, { registry: metrics.registry })
  const hits = createCacheHits({ lookup: gate.lookup, refuses: gate.refuses, recorder })
  // The hooks above, as the door checks them: ready and not draining, not shedding, no per-request debug lines.
  const overloaded = app.hasDecorator('isUnderPressure') ? () => app.isUnderPressure() : () => false
  const door = createFrontDoor({
    hits,
    open: () => app.lifecycle.state === 'ready' && !overloaded() && !debugOn(logger),
    closing: () => app.lifecycle.state === 'shutting_down',
    authorized: config.apiTokens.length > 0 ? createBearerCheck(config.apiTokens) : undefined,
    observe: (seconds) => metrics.observeRequest('/can-call', 200, seconds),
    logger,
  })
  await app.register(canCallRoutes, {
    lookup: gate.lookup,
    refuses: gate.refuses,
    hits,
    missedAtDoor: (raw) => door.missed(raw),
  })
  await app.register(callOutcomeRoutes, { events: gate.events, streaks: gate.streaks, metrics })
  await app.register(webhookRoutes, { webhooks: config.webhooks, events: gate.events, metrics })
  if (config.adminToken)
    await app.register(adminRoutes, { token: config.adminToken, events: gate.events, metrics })

  if (deps.frontDoor !== false) installFrontDoor(app.server, door)
  return app
}
