/**
 * Route config for probes and metrics: no caller token, and under-pressure lets them through (a handler
 * returning undefined means "go on"), so an overloaded gate still reports its health; so does a draining one.
 */
export const PUBLIC_ROUTE = {
  callerAuth: false,
  pressureHandler: () => undefined,
  whileDraining: true,
} as const

/** Webhook and admin routes: their own secret instead of the caller token; shed like any other work. */
export const OWN_AUTH_ROUTE = { callerAuth: false } as const
