import fc from 'fast-check'

/** Values that break parsers and formatters: out of any sane range, the wrong type, empty, huge, not text. */
export const EXTREMES: readonly unknown[] = [
  10_000_000_000_000,
  '10000000000000',
  '99999999999',
  1e21,
  1e308,
  Number.MAX_SAFE_INTEGER + 2,
  -1,
  '-1',
  1.5,
  0,
  '',
  ' ',
  '\u0000',
  '\ud800',
  'x'.repeat(5000),
  true,
  null,
  [],
  {},
]

export type Mutation = { at: number; op: 'replace' | 'delete' | 'wrap' | 'many'; value: unknown }

/** One change to a JSON value: `at` picks the place (modulo how many there are), `op` what happens there. */
export const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'wrap', 'many'),
  value: fc.oneof(fc.constantFrom(...EXTREMES), fc.jsonValue({ maxDepth: 2 })),
})

type Place = [container: Record<string, unknown> | unknown[] | null, key: string | number | null]

/** Every place in a JSON value that a mutation can hit; the root is [null, null]. */
function places(root: unknown): Place[] {
  const out: Place[] = [[null, null]]
  const walk = (v: unknown) => {
    if (v === null || typeof v !== 'object') return
    const container = v as Record<string, unknown>
    for (const key of Object.keys(container)) {
      out.push([container, Array.isArray(v) ? Number(key) : key])
      walk(container[key])
    }
  }
  walk(root)
  return out
}

/**
 * A copy of `valid` with each mutation applied in turn: replaced, deleted, wrapped in an array, or repeated 1001
 * times (one array past every maxItems). At most one repetition, and last: walking a thousand copies for the next
 * mutation is what made generation, not the requests, the slow part of a run.
 */
export function mutate(valid: unknown, mutations: readonly Mutation[]): unknown {
  let root = structuredClone(valid)
  const many = mutations.find((m) => m.op === 'many')
  for (const m of [...mutations.filter((m) => m.op !== 'many'), ...(many ? [many] : [])]) {
    const all = places(root)
    const [container, key] = all[m.at % all.length] ?? [null, null]
    const slot = container as Record<string, unknown>
    const current = container === null ? root : slot[key as string]
    const next =
      m.op === 'replace'
        ? m.value
        : m.op === 'wrap'
          ? [current]
          : m.op === 'many'
            ? Array.from({ length: 1001 }, () => current)
            : undefined
    if (container === null) root = next
    else if (m.op === 'delete' && Array.isArray(container)) container.splice(key as number, 1)
    else if (m.op === 'delete') delete slot[key as string]
    else slot[key as string] = next
  }
  return root
}
