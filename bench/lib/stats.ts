/** The q-quantile (0..1) of an ascending array, nearest rank. NaN when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] ?? NaN
}

/** The middle value, or the mean of the two middle values. NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = Float64Array.from(values).sort()
  const mid = sorted.length >> 1
  if (sorted.length === 0) return NaN
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
}

/** Milliseconds of CPU used between two process.cpuUsage() readings, as a share of one core over wallMs. */
export function cpuShare(before: NodeJS.CpuUsage, after: NodeJS.CpuUsage, wallMs: number): number {
  return (after.user - before.user + after.system - before.system) / 1000 / wallMs
}
