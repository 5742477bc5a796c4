import type { FastifyInstance, RouteOptions } from 'fastify'

type Hooks<K extends 'onRequest' | 'onResponse'> = NonNullable<RouteOptions[K]>
type Hook<K extends 'onRequest' | 'onResponse'> = Extract<Hooks<K>, (...args: never[]) => unknown>

/**
 * Adds a hook to each route registered from now on, built from that route's options, instead of one root hook that
 * reads `request.routeOptions`: Fastify builds that object (12 fields) on every read, several times per check.
 * Requests no route took (404s, undecodable paths) get none: the caller covers them with a root hook that tests
 * `request.is404`.
 */
export function addRouteHook<K extends 'onRequest' | 'onResponse'>(
  app: FastifyInstance,
  name: K,
  build: (route: RouteOptions) => Hook<K> | undefined,
): void {
  app.addHook('onRoute', (route) => {
    const hook = build(route)
    if (!hook) return
    const existing: Hooks<K> | undefined = route[name]
    const before: unknown[] = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
    route[name] = [...before, hook] as RouteOptions[K]
  })
}
