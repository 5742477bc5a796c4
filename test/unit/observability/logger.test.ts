import { execFile } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createLogger, logDestination, LOG_FLUSH_MS } from '../../../src/observability/logger.js'
import { waitFor } from '../../helpers/wait.js'

const run = promisify(execFile)
const lines = async (file: string) =>
  (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean)

describe('the log destination (buffered, asynchronous)', () => {
  it('writes a lone line on a quiet gate within the flush period', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'log-')), 'gate.log')
    const logger = createLogger('info', logDestination(file))
    logger.info({ decision_id: 'd1' }, 'decision')
    const waited = await waitFor(async () => (await lines(file)).length === 1, 20 * LOG_FLUSH_MS)
    expect(JSON.parse((await lines(file))[0]!)).toMatchObject({ decision_id: 'd1', msg: 'decision' })
    expect(waited).toBeLessThan(20 * LOG_FLUSH_MS)
  })

  it('writes the lines in hand at once on logger.flush(), without waiting for the period', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'log-')), 'gate.log')
    // A period no test outlives: only flush() can write these lines.
    const logger = createLogger('info', logDestination(file, { flushEveryMs: 3_600_000 }))
    logger.info('Server listening at http://127.0.0.1:8080')
    logger.info('consent-gate ready')
    logger.flush()
    await waitFor(async () => (await lines(file)).length === 2, 5000)
    expect((await lines(file)).map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      'Server listening at http://127.0.0.1:8080',
      'consent-gate ready',
    ])
  })

  it('loses no buffered line when the process exits right after logging', async () => {
    const script = `
      const { createLogger, logDestination } = await import(${JSON.stringify(new URL('../../../src/observability/logger.ts', import.meta.url).pathname)})
      const logger = createLogger('info', logDestination(1))
      for (let i = 0; i < 5; i++) logger.info({ i }, 'decision')
      process.exit(0)
    `
    // Standard output, as in production (server.ts): the gate's log is its stdout.
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      '--input-type=module',
      '--eval',
      script,
    ])
    const logged = stdout.split('\n').filter(Boolean)
    expect(logged.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([0, 1, 2, 3, 4])
  })
})
