import fs from 'node:fs'
import path from 'node:path'

export interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
export interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export const readProfile = (file: string): Profile => JSON.parse(fs.readFileSync(file, 'utf8')) as Profile

/** Frames that are the VM's own, not code: kept by name. */
export const VM_FRAMES = new Set(['(idle)', '(program)', '(garbage collector)'])

/** `src/consent/cache.ts`, `fastify`, `node:internal/...`: where a frame's code lives. */
export function owner(node: ProfileNode): string {
  const { functionName, url } = node.callFrame
  if (VM_FRAMES.has(functionName)) return functionName
  if (!url) return '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg?.[1]) return pkg[1]
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/')
  return path.relative(process.cwd(), url.replace(/^file:\/\//, ''))
}

/** Self time (µs) per node id: the time of each sample goes to the node it was taken in. */
export function selfTimes(profile: Profile): Map<number, number> {
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  return selfUs
}

/** Busy self time (µs) summed by `key`; idle samples left out. */
export function sumBy(profile: Profile, key: (n: ProfileNode) => string): Map<string, number> {
  const selfUs = selfTimes(profile)
  const sums = new Map<string, number>()
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0
    if (us && node.callFrame.functionName !== '(idle)') sums.set(key(node), (sums.get(key(node)) ?? 0) + us)
  }
  return sums
}

/** The requests served while a profile was taken, written beside it by the hit-path scenario. */
export const requestsFile = (profileFile: string) => profileFile.replace(/\.cpuprofile$/, '.requests.json')
