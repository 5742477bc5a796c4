import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'

export type LifecycleState = 'starting' | 'ready' | 'shutting_down'

/** Where the gate is in its life: /readyz reports it, and draining refuses new work once it shuts down. */
export interface Lifecycle {
  readonly state: LifecycleState
}

const plugin: FastifyPluginAsync<{ close: () => Promise<void> }> = async (app, { close }) => {
  const lifecycle: { state: LifecycleState } = { state: 'starting' }
  app.decorate('lifecycle', lifecycle)
  app.addHook('onListen', async () => {
    lifecycle.state = 'ready'
  })
  app.addHook('preClose', async () => {
    lifecycle.state = 'shutting_down'
  })
  app.addHook('onClose', async () => close())
}

/** `app.lifecycle`, and `close` (the gate's upstream client and Redis) once the server has stopped. */
export const lifecycle = fp(plugin, { name: 'consent-gate-lifecycle', fastify: '5.x' })
