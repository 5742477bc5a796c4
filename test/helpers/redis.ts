import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { waitFor } from './wait.js'

/**
 * The Redis that `.ci/run` starts (REDIS_URL). Without it the shared-tier tests are skipped locally, but in CI
 * (CI=true) a missing REDIS_URL fails them instead: they must run there.
 */
export const REDIS_URL = process.env.REDIS_URL
if (process.env.CI && !REDIS_URL) throw new Error('CI must provide REDIS_URL for the shared-tier tests')

/** A key prefix of its own per test, so tests sharing one Redis never see each other's keys. */
export const freshPrefix = () => `test-${randomUUID().slice(0, 8)}:`

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  await new Promise((r) => server.close(r))
  return port
}

/** A redis-server of the test's own, on a fixed port so it can be stopped and started again mid-run. */
export async function ownRedis(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  )
  const url = `redis://127.0.0.1:${port}`
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => undefined)
  await waitFor(async () => {
    await probe.connect().catch(() => undefined)
    return (await probe.ping().catch(() => '')) === 'PONG'
  }, 5000)
  probe.disconnect()
  return {
    url,
    async stop() {
      proc.kill('SIGKILL')
      await new Promise((r) => proc.once('exit', r))
    },
  }
}
