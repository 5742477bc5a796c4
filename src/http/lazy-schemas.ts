import AjvCompiler from '@fastify/ajv-compiler'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type Compiled = ((...args: unknown[]) => unknown) & { errors?: unknown; schemaEnv?: unknown }

/**
 * A compiled schema, compiled on its first use: Fastify compiles every route's validators (ajv) and serializers
 * (fast-json-stringify) before it listens, ~18 % of the gate's start-up CPU (bench/README.md, start-up), for
 * routes most gates never serve (webhooks, admin, docs). The first request of a route pays its compilation
 * instead (a schema that cannot compile fails there: tests build the app with eager compilation, app.ts). `errors`
 * is read by Fastify from the validator after a failed check, so it is passed on.
 */
function onFirstUse(compile: () => Compiled): Compiled {
  let compiled: Compiled | undefined
  const lazy: Compiled = (...args) => {
    compiled ??= compile()
    const result = compiled(...args)
    lazy.errors = compiled.errors
    return result
  }
  // Fastify passes an ajv validator (which has a schemaEnv) the request as the root's parent, so ajv may coerce or
  // replace a root value; the compiled validator still gets every argument.
  lazy.schemaEnv = true
  return lazy
}

/**
 * Fastify's own compilers (the ones it would pick), each route's schemas compiled on first use. `base` replaces
 * them (tests count compilations).
 */
export function lazySchemaCompilers(
  base: {
    buildValidator?: ReturnType<typeof AjvCompiler>
    buildSerializer?: ReturnType<typeof SerializerSelector>
  } = {},
): CompilersFactory {
  const buildValidator = base.buildValidator ?? AjvCompiler()
  const buildSerializer = base.buildSerializer ?? SerializerSelector()
  const lazyValidators: typeof buildValidator = (externalSchemas, options) => {
    const compile = buildValidator(externalSchemas, options)
    // Typed as ajv's ValidateFunction, of which Fastify calls it and reads `errors`, nothing more.
    return ((route) => onFirstUse(() => compile(route) as Compiled)) as typeof compile
  }
  const lazySerializers: typeof buildSerializer = (externalSchemas, options) => {
    const compile = buildSerializer(externalSchemas, options)
    return ((route) => onFirstUse(() => compile(route) as Compiled)) as typeof compile
  }
  return { buildValidator: lazyValidators, buildSerializer: lazySerializers }
}
