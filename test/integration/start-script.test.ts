// `npm start` (scripts/start.mjs) in a repository of its own whose "build" is a stand-in that takes no time: it
// builds only when it must, says why on stderr, and then starts the bundle in its own process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

let root: string
const SCRIPTS = new URL('../../scripts/', import.meta.url)
/** Writes a bundle that says it started, then the stamp, as scripts/bundle.ts does. */
const FAKE_BUILD = `
import { mkdirSync, writeFileSync } from 'node:fs'
import { fingerprint, writeStamp } from './scripts/build-stamp.mjs'
const files = fingerprint(process.cwd())
mkdirSync('dist/bundle', { recursive: true })
writeFileSync('dist/bundle/consent-gate.mjs', "console.log('gate started')")
writeStamp('dist/bundle', files)
console.log('built')
`
const setBuild = (command: string) =>
  writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module', scripts: { build: command } }))

function npmStart() {
  const run = spawnSync(process.execPath, [join(root, 'scripts/start.mjs')], { cwd: root, encoding: 'utf8' })
  return { status: run.status, stdout: run.stdout.trim().split('\n'), stderr: run.stderr }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'npm-start-'))
  mkdirSync(join(root, 'scripts'))
  mkdirSync(join(root, 'src'))
  for (const file of ['start.mjs', 'build-stamp.mjs'])
    copyFileSync(new URL(file, SCRIPTS), join(root, 'scripts', file))
  writeFileSync(join(root, 'build.mjs'), FAKE_BUILD)
  writeFileSync(join(root, 'src/server.ts'), 'export {}')
  setBuild('node build.mjs')
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('npm start (scripts/start.mjs)', () => {
  it('builds first when nothing is built, and says so', () => {
    const run = npmStart()
    expect(run.stderr).toMatch(/^consent-gate: building first, nothing is built yet/)
    expect(run).toMatchObject({ status: 0, stdout: ['built', 'gate started'] })
  })

  it('starts at once, without building, when the sources did not change', () => {
    expect(npmStart()).toEqual({ status: 0, stdout: ['gate started'], stderr: '' })
  })

  it('builds again once a source changed, naming it', () => {
    writeFileSync(join(root, 'src/server.ts'), 'export const changed = true')
    const run = npmStart()
    expect(run.stderr).toContain('a source changed since the last build: src/server.ts')
    expect(run).toMatchObject({ status: 0, stdout: ['built', 'gate started'] })
  })

  it('does not start the gate when the build fails', () => {
    writeFileSync(join(root, 'src/server.ts'), 'export const broken = true')
    setBuild('node -e "process.exit(3)"')
    const run = npmStart()
    expect(run.status).toBe(3)
    expect(run.stdout).toEqual([''])
    expect(run.stderr).toContain('the build failed, so the gate does not start')
  })
})
