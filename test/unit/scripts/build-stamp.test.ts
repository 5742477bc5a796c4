import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { BUNDLE_ENTRY, fingerprint, staleness, writeStamp } from '../../../scripts/build-stamp.mjs'

let root: string
const write = (path: string, text: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  writeFileSync(join(root, path), text)
}
/** What `npm run build` leaves: the bundle, and the stamp of the sources it read. */
const build = () => {
  write(BUNDLE_ENTRY, '// bundle')
  writeStamp(join(root, dirname(BUNDLE_ENTRY)), fingerprint(root))
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'build-stamp-'))
  write('src/server.ts', 'export {}')
  write('src/http/app.ts', 'export const a = 1')
  write('package.json', '{}')
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

describe('staleness (npm start builds only when it says why)', () => {
  it('asks for a build when nothing is built, or the bundle has no stamp', () => {
    expect(staleness(root)).toBe(`nothing is built yet (no ${BUNDLE_ENTRY})`)
    write(BUNDLE_ENTRY, '// bundle')
    expect(staleness(root)).toMatch(/^the bundle has no build stamp/)
    write('dist/bundle/build-stamp.json', 'not json')
    expect(staleness(root)).toMatch(/^the bundle has no build stamp/)
  })

  it('finds nothing to do right after a build, nor after a file is saved unchanged', () => {
    build()
    expect(staleness(root)).toBeUndefined()
    write('src/http/app.ts', 'export const a = 1')
    expect(staleness(root)).toBeUndefined()
  })

  it('hashes a file saved within 2 s of the build even when its size and mtime are the same', () => {
    // Whole seconds, so that the mtime set back is exactly the one the stamp holds.
    const recent = Math.floor(Date.now() / 1000) - 1
    utimesSync(join(root, 'src/http/app.ts'), recent, recent)
    build()
    write('src/http/app.ts', 'export const a = 2')
    utimesSync(join(root, 'src/http/app.ts'), recent, recent)
    expect(staleness(root)).toBe('a source changed since the last build: src/http/app.ts')
  })

  it('trusts the size and mtime of files older than that, as git does, and reads only the others', () => {
    const old = Math.floor(Date.now() / 1000) - 60
    utimesSync(join(root, 'src/http/app.ts'), old, old)
    build()
    write('src/http/app.ts', 'export const a = 2')
    utimesSync(join(root, 'src/http/app.ts'), old, old)
    expect(staleness(root)).toBeUndefined()
    write('src/server.ts', 'export const b = 1')
    expect(staleness(root)).toBe('a source changed since the last build: src/server.ts')
  })

  it('names the source that changed, was added or was removed', () => {
    build()
    write('src/http/app.ts', 'export const a = 2')
    expect(staleness(root)).toBe('a source changed since the last build: src/http/app.ts')
    build()
    write('src/new.ts', '')
    expect(staleness(root)).toBe('a source changed since the last build: src/new.ts')
    build()
    unlinkSync(join(root, 'src/server.ts'))
    expect(staleness(root)).toBe('a source changed since the last build: src/server.ts')
  })

  it('watches the lockfile, the tsconfigs and the bundle script as well as src/, and sums up many changes', () => {
    build()
    for (const path of [
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'scripts/bundle.ts',
      'src/x.ts',
    ])
      write(path, 'changed')
    expect(staleness(root)).toBe(
      '5 sources changed since the last build: package-lock.json, scripts/bundle.ts, src/x.ts and 2 more',
    )
    write('README.md', 'not an input')
    build()
    write('README.md', 'still not an input')
    expect(staleness(root)).toBeUndefined()
  })
})
