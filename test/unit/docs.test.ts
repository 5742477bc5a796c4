import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { EnvSchema } from '../../src/config/load.js'

const root = new URL('../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')
const variables = Object.keys(EnvSchema.properties)
const schema = new Set(variables)

const readme = read('README.md')
const pages = readdirSync(new URL('docs/', root))
  .filter((f) => f.endsWith('.md'))
  .sort()

/** The README keeps to a page or two; the detail lives in docs/ (STYLE point 12). */
const README_MAX_BYTES = 12_500

/** `NAME` in the first cell of a table row: the configuration table's variables. */
function tableVariables(markdown: string): string[] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .map((line) => line.split('|')[1] ?? '')
    .flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!))
}

/** Everything inside backticks: inline code spans and fenced blocks. */
function codeSpans(markdown: string): string[] {
  const fences = [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!)
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '')
  return [...fences, ...[...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!)]
}

/** Variables of other programs that the docs name on purpose; none of them configures the gate. */
const NOT_THE_GATES = new Map([
  ['SIMULATOR_HOST', 'npm run simulator'],
  ['SIMULATOR_PORT', 'npm run simulator and npm run demo'],
  ['SIMULATOR_SEED', 'npm run simulator'],
  ['REDIS_PASSWORD', "docker compose: the password of compose's own Redis"],
  ['CONSENT_GATE_URL', "the CLI's gate address (docs/cli.md)"],
  ['CONSENT_GATE_TOKEN', "the CLI's caller token (docs/cli.md)"],
])

/** Prefixes that make an UPPER_SNAKE name look like one of ours: the schema's own, the simulator's and the CLI's. */
const PREFIXES = new Set([...variables.map((v) => v.split('_')[0]!), 'SIMULATOR', 'CONSENT'])

/** UPPER_SNAKE names with an underscore and a known prefix (undici codes such as UND_ERR_... are not ours). */
function envLikeNames(markdown: string): string[] {
  const names = codeSpans(markdown).flatMap((code) => [
    ...code.matchAll(/(?<![A-Za-z0-9_-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![A-Za-z0-9_-])/g),
  ])
  return [...new Set(names.map((m) => m[1]!))].filter((n) => schema.has(n) || PREFIXES.has(n.split('_')[0]!))
}

/** Relative links to files of this repository, without their anchors. */
function localLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!.split('#')[0]!)
    .filter((target) => target !== '' && !/^[a-z]+:/.test(target))
}

describe('configuration documentation', () => {
  it.each(variables)('README.md documents %s in the configuration table', (name) => {
    expect(readme).toMatch(new RegExp(`^\\| [^|]*\`${name}\``, 'm'))
  })

  it.each(variables)('.env.example lists %s', (name) => {
    expect(read('.env.example')).toMatch(new RegExp(`^#? ?${name}=`, 'm'))
  })

  it('names no variable in a README table row that the env schema does not define', () => {
    const rows = tableVariables(readme)
    expect(rows.length).toBeGreaterThanOrEqual(variables.length)
    expect(rows.filter((name) => !schema.has(name))).toEqual([])
  })

  it.each(['README.md', ...pages.map((p) => `docs/${p}`)])(
    '%s names only variables the env schema defines, or one of another program on purpose',
    (path) => {
      const unknown = envLikeNames(read(path)).filter((n) => !schema.has(n) && !NOT_THE_GATES.has(n))
      expect(unknown).toEqual([])
    },
  )

  it('knows each exception it makes: every name kept apart from the schema is named in docs/', () => {
    const named = new Set(pages.flatMap((p) => envLikeNames(read(`docs/${p}`))))
    for (const name of NOT_THE_GATES.keys()) {
      expect(schema.has(name), `${name} is in the env schema now: drop it from NOT_THE_GATES`).toBe(false)
      expect(named.has(name), `${name} is no longer named in docs/: drop it from NOT_THE_GATES`).toBe(true)
    }
  })
})

describe('README.md', () => {
  it('shows the two quick-start commands', () => {
    expect(readme).toContain('npm ci && npm run demo')
    expect(readme).toContain('npm ci && npm test')
  })

  it(`stays under ${README_MAX_BYTES} bytes: the detail belongs in docs/`, () => {
    expect(Buffer.byteLength(readme)).toBeLessThan(README_MAX_BYTES)
  })

  it('links only files that exist, docs/ pages included', () => {
    const linked = localLinks(readme)
    expect(linked.filter((l) => l.startsWith('docs/')).length).toBeGreaterThan(0)
    expect(linked.filter((l) => !existsSync(new URL(l, root)))).toEqual([])
  })

  it.each(pages)('links docs/%s', (page) => {
    expect(localLinks(readme)).toContain(`docs/${page}`)
  })
})

describe('docs/', () => {
  it.each(pages)('docs/%s links only files that exist', (page) => {
    const base = new URL('docs/', root)
    expect(localLinks(read(`docs/${page}`)).filter((l) => !existsSync(new URL(l, base)))).toEqual([])
  })
})
