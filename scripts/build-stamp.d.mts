/** What the build read: every input file's SHA-256, size and mtime, and when they were taken. */
export interface Fingerprint {
  takenAtMs: number
  files: Record<string, { sha256: string; size: number; mtimeMs: number }>
}

export const BUNDLE_ENTRY: string
export const STAMP: string
export const INPUTS: readonly string[]
export function fingerprint(root: string, previous?: Fingerprint): Fingerprint
export function writeStamp(outdir: string, stamp: Fingerprint): void
export function staleness(root: string): string | undefined
