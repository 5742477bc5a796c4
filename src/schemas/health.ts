import Type from 'typebox'

export const HealthBody = Type.Object({ status: Type.Literal('ok') })

export const ReadyBody = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('starting'), Type.Literal('shutting_down')]),
    upstream: Type.Object({
      circuit: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')], {
        description: 'An open circuit does not fail readiness: cached answers still serve.',
      }),
    }),
    shared: Type.Object({
      mode: Type.Union([Type.Literal('off'), Type.Literal('connected'), Type.Literal('degraded')], {
        description:
          'Redis tier: off (no REDIS_URL), connected, or degraded (this sidecar answers on its own)',
      }),
    }),
  },
  { description: '200 when ready; 503 while starting or shutting down.' },
)
