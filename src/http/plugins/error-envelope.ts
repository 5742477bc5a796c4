import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { errorHandler, notFoundHandler } from '../error-handler.js'

const plugin: FastifyPluginAsync = async (app) => {
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)
}

/**
 * Every error and unknown route leaves as the gate's envelope. The handler writes `request.decisions`, so a
 * refused check still reaches the decision log.
 */
export const errorEnvelope = fp(plugin, {
  name: 'consent-gate-error-envelope',
  fastify: '5.x',
  dependencies: ['consent-gate-decisions'],
})
