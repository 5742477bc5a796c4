import os from 'node:os'

export interface Machine {
  cores: number
  cpu: string
  memoryGiB: number
  node: string
  os: string
  date: string
}

export function machine(): Machine {
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  }
}

/** CPU time (ms) all cores spent busy since boot, from os.cpus(): to see how much of a run others used. */
export function machineBusyMs(): number {
  return os.cpus().reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0)
}
