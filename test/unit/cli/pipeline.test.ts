import { describe, expect, it } from 'vitest'
import { runPipeline, type Outcome } from '../../../src/cli/precheck/pipeline.js'
import type { PreviousOutput, PreviousRow } from '../../../src/cli/precheck/resume.js'
import type { InputRow } from '../../../src/cli/precheck/rows.js'
import type { Pair } from '../../../src/cli/precheck/checker.js'
import type { CheckResult } from '../../../src/cli/results.js'

const B = '+918000000001'
const u = (i: number) => `+9190000${String(i).padStart(5, '0')}`

async function* rowsOf(n: number, invalidAt: number[] = []): AsyncGenerator<InputRow> {
  for (let i = 0; i < n; i++) {
    yield invalidAt.includes(i)
      ? { line: i + 2, endByte: i, invalid: 'user is bad' }
      : { line: i + 2, endByte: i, rawUser: u(i), check: { business: B, user: u(i) } }
  }
}

const decided = (p: Pair): CheckResult => ({
  allowed: false,
  reason: 'no_consent',
  business: p.business,
  user: p.user,
})

function previousOf(rows: PreviousRow[]): PreviousOutput {
  let i = 0
  return { next: async () => rows[i++], close: () => undefined }
}

/** A run whose emitted rows are collected as [user or line, reason]. */
async function run(opts: Partial<Parameters<typeof runPipeline>[0]> & { n: number; invalidAt?: number[] }) {
  const written: [string, string][] = []
  let most = 0
  let inFlight = 0
  const result = await runPipeline({
    rows: rowsOf(opts.n, opts.invalidAt),
    chunkSize: 10,
    maxBuffered: 30,
    check: async (pairs) => {
      most = Math.max(most, ++inFlight)
      // Later chunks answer first: the first user's index decides the delay.
      const first = Number(pairs[0]!.user.slice(-5))
      await new Promise((r) => setTimeout(r, Math.max(0, 30 - first)))
      inFlight--
      return pairs.map(decided)
    },
    emit: async (row: InputRow, outcome: Outcome) => {
      written.push([
        'kept' in outcome
          ? `kept:${String(outcome.kept.user)}`
          : typeof row.rawUser === 'string'
            ? row.rawUser
            : String(row.line),
        'kept' in outcome ? outcome.kept.reason : outcome.result.reason,
      ])
    },
    ...opts,
  })
  return { written, most, ...result }
}

describe('runPipeline', () => {
  it('writes every row in input order though chunks finish out of order', async () => {
    const { written, most } = await run({ n: 45, invalidAt: [3] })
    expect(written.map(([who]) => who)).toEqual(Array.from({ length: 45 }, (_, i) => (i === 3 ? '5' : u(i))))
    expect(written[3]![1]).toBe('invalid_request')
    expect(most).toBeGreaterThan(1)
  })

  it('never holds more rows than maxBuffered, however long the input', async () => {
    let held = 0
    let most = 0
    async function* counted() {
      for await (const row of rowsOf(500)) {
        held++
        most = Math.max(most, held)
        yield row
      }
    }
    const written: string[] = []
    await runPipeline({
      rows: counted(),
      chunkSize: 10,
      maxBuffered: 30,
      check: async (pairs) => pairs.map(decided),
      emit: async (row) => {
        held--
        written.push(String(row.rawUser))
      },
    })
    expect(written.length).toBe(500)
    expect(most).toBeLessThanOrEqual(30)
  })

  it('keeps final rows of a previous output and checks undetermined ones again', async () => {
    const checked: string[] = []
    const previous = previousOf([
      { reason: 'consent_granted', business: B, user: u(0) },
      { reason: 'upstream_unavailable', business: B, user: u(1) },
      { reason: 'invalid_request', business: B, user: u(2) },
    ])
    const { written } = await run({
      n: 4,
      previous,
      check: async (pairs) => (checked.push(...pairs.map((p) => p.user)), pairs.map(decided)),
    })
    expect(checked).toEqual([u(1), u(3)])
    expect(written).toEqual([
      [`kept:${u(0)}`, 'consent_granted'],
      [u(1), 'no_consent'],
      [`kept:${u(2)}`, 'invalid_request'],
      [u(3), 'no_consent'],
    ])
  })

  it('refuses a previous output whose rows name other pairs', async () => {
    const previous = previousOf([{ reason: 'consent_granted', business: B, user: '+919999999999' }])
    await expect(run({ n: 2, previous })).rejects.toThrow('does not match the input at line 2')
  })

  it('fails the run when a chunk fails', async () => {
    await expect(run({ n: 25, check: async () => Promise.reject(new Error('refused')) })).rejects.toThrow(
      'refused',
    )
  })

  it('on interrupt, writes what is answered, then the previous rows for the rest', async () => {
    const stop = new AbortController()
    const previous = previousOf(
      Array.from({ length: 30 }, (_, i) => ({ reason: 'upstream_unavailable', business: B, user: u(i) })),
    )
    const { written, interrupted } = await run({
      n: 40,
      previous,
      signal: stop.signal,
      check: async (pairs) => {
        if (pairs[0]!.user === u(0)) return pairs.map(decided)
        stop.abort()
        return new Promise<never>(() => undefined)
      },
    })
    expect(interrupted).toBe(true)
    expect(written.slice(0, 10).every(([, reason]) => reason === 'no_consent')).toBe(true)
    expect(written.slice(10).map(([who]) => who)).toEqual(
      Array.from({ length: 20 }, (_, i) => `kept:${u(i + 10)}`),
    )
  })
})
