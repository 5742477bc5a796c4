/**
 * Route config for probes and metrics: no caller token, and under-pressure lets them through (a handler
 * returning undefined means "go on"), so an overloaded gate still reports its health.
 */
export const PUBLIC_ROUTE = { public: true, pressureHandler: () => undefined } as const
