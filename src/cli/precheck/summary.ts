import { verdictOf } from '../results.js'

/** Rows per reason, for the table at the end and the exit code. */
export function createTally() {
  const byReason = new Map<string, number>()
  let kept = 0
  return {
    add(reason: string, wasKept: boolean) {
      byReason.set(reason, (byReason.get(reason) ?? 0) + 1)
      if (wasKept) kept++
    },
    /** Rows no retry could decide: the run exits 2 and a resumed run asks about them again. */
    undetermined: () =>
      [...byReason].filter(([reason]) => verdictOf(reason) === 'undetermined').reduce((n, [, c]) => n + c, 0),
    table(): string {
      const rows = [...byReason].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      const total = rows.reduce((n, [, c]) => n + c, 0)
      const cells: [string, string, string][] = [
        ['reason', 'rows', ''],
        ...rows.map(([reason, n]): [string, string, string] => [reason, fmt(n), note(reason)]),
        ['total', fmt(total), kept > 0 ? `${fmt(kept)} kept from the previous run` : ''],
      ]
      const w0 = Math.max(...cells.map((c) => c[0].length))
      const w1 = Math.max(...cells.map((c) => c[1].length))
      return cells.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`.trimEnd()).join('\n')
    },
  }
}

const fmt = (n: number) => n.toLocaleString('en-US')

function note(reason: string): string {
  switch (verdictOf(reason)) {
    case 'decided':
      return reason === 'consent_granted' ? 'may be called' : 'denied'
    case 'invalid':
      return 'invalid input'
    default:
      return 'undetermined: run again to retry'
  }
}
