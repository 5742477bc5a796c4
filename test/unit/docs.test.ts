import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { EnvSchema } from '../../src/config.js'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')
const variables = Object.keys(EnvSchema.properties)

describe('configuration documentation', () => {
  it.each(variables)('README.md documents %s in the configuration table', (name) => {
    expect(read('README.md')).toMatch(new RegExp(`^\\| [^|]*\`${name}\``, 'm'))
  })

  it.each(variables)('.env.example lists %s', (name) => {
    expect(read('.env.example')).toMatch(new RegExp(`^#? ?${name}=`, 'm'))
  })

  it('README.md shows the two quick-start commands', () => {
    const readme = read('README.md')
    expect(readme).toContain('npm ci && npm run demo')
    expect(readme).toContain('npm ci && npm test')
  })
})
