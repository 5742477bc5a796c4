import { request } from 'undici'

/** Samples of a Prometheus text scrape, keyed `name{labels}` exactly as exposed. */
export type Samples = Map<string, number>

export async function scrape(url: string): Promise<Samples> {
  const res = await request(`${url}/metrics`)
  const text = await res.body.text()
  const samples: Samples = new Map()
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (m?.[1] && m[2]) samples.set(m[1], Number(m[2]))
  }
  return samples
}

/** Sum of every sample of `name` whose labels contain all of `labels` (e.g. `result="hit"`). */
export function sum(samples: Samples, name: string, ...labels: string[]): number {
  let total = 0
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}{`) && key !== name) continue
    if (labels.every((l) => key.includes(l))) total += value
  }
  return total
}

/** Differences between two scrapes of counters, by label set of `name`. */
export function delta(before: Samples, after: Samples, name: string, ...labels: string[]): number {
  return sum(after, name, ...labels) - sum(before, name, ...labels)
}
