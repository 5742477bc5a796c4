/** Markdown helpers: every scenario prints tables, and run.ts writes them all to results.md. */

export interface TargetCheck {
  scenario: string
  target: string
  measured: string
  /** null: informational, no pass/fail (e.g. only meaningful in a full run). */
  met: boolean | null
}

export interface ScenarioReport {
  title: string
  /** Markdown: tables and short notes. */
  markdown: string
  targets: TargetCheck[]
}

export interface ScenarioContext {
  quick: boolean
  /** bench/out/: logs and profiles, git-ignored. */
  outDir: string
  log: (message: string) => void
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))]
  const widths = headers.map((_, c) => Math.max(3, ...cells.map((r) => (r[c] ?? '').length)))
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c] ?? 3)).join(' | ')} |`
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n')
}

export const ms = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 1)} ms` : 'n/a')
export const int = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a')
export const ratio = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a')
export const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(0)} %` : 'n/a')
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
export const verdict = (met: boolean | null): string => (met === null ? 'info' : met ? 'met' : 'MISSED')
