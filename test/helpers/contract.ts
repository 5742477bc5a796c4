import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { Value } from 'typebox/value'
import { expect } from 'vitest'
import { BatchResponse, DecisionBody } from '../../src/schemas/can-call.js'
import { InvalidRequestBody, UnauthorizedBody, UnavailableBody } from '../../src/schemas/errors.js'

/**
 * /can-call answers are serialized with JSON.stringify (src/http/routes/can-call.ts), not from their schemas, so every
 * answer a test receives is held to the documented schema here: the right shape, and no field the schema lacks.
 */
const CAN_CALL: Record<number, TSchema> = {
  200: DecisionBody,
  400: InvalidRequestBody,
  401: UnauthorizedBody,
  503: UnavailableBody,
}
const BATCH: Record<number, TSchema> = { ...CAN_CALL, 200: BatchResponse }

const compiled = new Map<TSchema, ReturnType<typeof Compile>>()

export function expectContract(route: 'can-call' | 'batch', status: number, body: unknown): void {
  const schema = (route === 'batch' ? BATCH : CAN_CALL)[status]
  if (!schema) return
  let check = compiled.get(schema)
  if (!check) compiled.set(schema, (check = Compile(schema)))
  expect(check.Check(body), `${route} ${status} body ${JSON.stringify(body)} fits its schema`).toBe(true)
  expect(extraFields(schema, body), `fields the ${route} ${status} schema does not document`).toEqual([])
}

/** Paths of fields in `value` that no branch of `schema` declares. */
export function extraFields(schema: TSchema, value: unknown, at = ''): string[] {
  const s = schema as { properties?: Record<string, TSchema>; anyOf?: TSchema[]; items?: TSchema }
  if (s.anyOf) {
    // The branch the value fits decides (a consent object is not excused by the `null` branch).
    const branch = s.anyOf.find((b) => Value.Check(b, value)) ?? s.anyOf[0]
    return branch ? extraFields(branch, value, at) : []
  }
  if (Array.isArray(value) && s.items) return value.flatMap((v, i) => extraFields(s.items!, v, `${at}[${i}]`))
  if (value === null || typeof value !== 'object' || !s.properties) return []
  const props = s.properties
  return Object.entries(value).flatMap(([k, v]) =>
    props[k] ? extraFields(props[k], v, `${at}.${k}`) : [`${at}.${k}`],
  )
}
