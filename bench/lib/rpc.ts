import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

/**
 * A tiny request/response protocol over the IPC channel of a forked child. The benchmark keeps each server
 * in its own process so that the load generator (autocannon, in the parent) never shares its event loop.
 */
type Message = { id: number; method: string; args: unknown[] }
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string }

export type Handlers = Record<string, (...args: any[]) => unknown>

/** Child side: answers calls from the parent and exits when the parent goes away. */
export function serve(handlers: Handlers): void {
  const send = (reply: Reply) => process.send?.(reply)
  process.on('message', (msg: Message) => {
    const handler = handlers[msg.method]
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown method ${msg.method}`)
        return handler(...msg.args)
      })
      .then(
        (value) => send({ id: msg.id, ok: true, value }),
        (err: unknown) => send({ id: msg.id, ok: false, error: String((err as Error)?.stack ?? err) }),
      )
  })
  // An orphaned server would keep a port and a core busy after a crashed run.
  process.on('disconnect', () => process.exit(0))
}

export interface ChildOptions {
  /** Where the child's stdout goes: a file descriptor (the gate's decision log), or 'ignore' for /dev/null. */
  stdout?: number | 'ignore' | 'inherit'
  /** Extra node flags, e.g. --expose-gc or --cpu-prof. */
  nodeArgs?: string[]
  env?: Record<string, string>
}

export interface Child {
  readonly process: ChildProcess
  call<T>(method: string, ...args: unknown[]): Promise<T>
  /** Disconnects (the child exits on its own) and waits for the exit. */
  stop(): Promise<void>
}

/** Forks a TypeScript entry under tsx with an IPC channel. */
export function startChild(entry: URL, opts: ChildOptions = {}): Child {
  const child = fork(fileURLToPath(entry), [], {
    execArgv: [...(opts.nodeArgs ?? []), '--import', 'tsx'],
    stdio: ['ignore', opts.stdout ?? 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...opts.env },
  })
  let next = 0
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  child.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id)
    pending.delete(reply.id)
    if (reply.ok) waiter?.resolve(reply.value)
    else waiter?.reject(new Error(reply.error))
  })
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`child exited (${code}) during a call`))
    pending.clear()
  })
  return {
    process: child,
    call<T>(method: string, ...args: unknown[]) {
      const id = next++
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        child.send({ id, method, args } satisfies Message)
      })
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      if (child.connected) child.disconnect()
      else child.kill('SIGTERM')
      await exited
    },
  }
}
