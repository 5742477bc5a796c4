import Type from 'typebox'

export const HealthBody = Type.Object({ status: Type.Literal('ok') })
export const ReadyBody = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('starting'), Type.Literal('shutting_down')]),
})
