import type { ConsentUpstream, PermissionRecord, Priority } from '../upstream/port.js'

export interface PairBatcherOptions {
  /** An upstream that answers many users per request (`batches`). */
  client: Pick<ConsentUpstream, 'listPermissions'>
  /**
   * How long a batch stays open after its latest miss (BATCH_WINDOW_MS, default 2): a lone miss waits this long, and
   * each miss that joins the batch extends it by as much. 0: no batching.
   */
  windowMs: number
  /**
   * How long a batch stays open after its first miss, however many keep arriving (BATCH_MAX_WAIT_MS, default 15): the
   * most batching adds to a check. Default windowMs: a fixed window, never extended.
   */
  maxWaitMs?: number
  /** Monotonic milliseconds, for how late a window's timer ran. Default performance.now. */
  now?: () => number
  /** Distinct users per upstream request (BATCH_MAX_USERS, default 25: Kaleyra's page size). A full batch goes at once. */
  maxUsers: number
  /** Distinct business numbers per upstream request. Default 4 (MAX_BUSINESSES_PER_BATCH). */
  maxBusinesses?: number
  /**
   * Whether a failed request of several businesses is asked again one business at a time, so that a business
   * Kaleyra cannot answer for fails only its own checks. Default: never.
   */
  isolateOn?: (err: unknown) => boolean
}

export interface PairBatcher {
  /**
   * The records for exactly this pair, looked up together with other pairs of its class (default live) missed at
   * the same time: live and bulk misses never share a batch, so a live check never waits in a bulk request.
   */
  find: (business: string, user: string, priority?: Priority) => Promise<PermissionRecord[]>
}

/**
 * Kaleyra answers the cross product of the two lists, so every business added to a batch may add a record per
 * user: four businesses of 25 users is at most 100 records, four pages of Kaleyra's default size. A contact centre
 * usually dials from a handful of numbers; a fifth waits for the next batch.
 */
export const MAX_BUSINESSES_PER_BATCH = 4

/** The checks of one business in a batch: its users, and the answer they wait for. */
interface Group {
  users: Set<string>
  result: Promise<PermissionRecord[]>
  resolve: (records: PermissionRecord[]) => void
  reject: (err: unknown) => void
}

interface Batch {
  priority: Priority
  groups: Map<string, Group>
  users: Set<string>
  /** Misses that joined so far: whether the turn of the event loop after the window brought one. */
  misses: number
  /** Goes off windowMs after the latest miss: each miss that joins refreshes it. */
  idle?: NodeJS.Timeout
  /** When idle is due, in now(): how late it ran tells a pause of the process. */
  idleDueAt: number
  /** Goes off maxWaitMs after the first miss; only when that is longer than the window. */
  deadline?: NodeJS.Timeout
  /** The turn of the event loop a batch whose window ran out still waits for. */
  settling?: NodeJS.Immediate
}

function openGroup(): Group {
  // Promise.withResolvers needs Node 22; the gate runs on 20.
  let resolve!: Group['resolve']
  let reject!: Group['reject']
  const result = new Promise<PermissionRecord[]>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { users: new Set(), result, resolve, reject }
}

/**
 * Micro-batching of misses: distinct pairs asked while misses keep arriving less than `windowMs` apart, for at most
 * `maxWaitMs` after the first and up to `maxUsers` users, share one upstream request with a comma list of
 * businesses and one of users, whatever business each pair is of (per-business batches halve the batch size for a
 * dialer with two numbers; bench scenario 2). Every page is read before anyone is answered, so a pair is
 * `no_consent` only when no page held it; each pair gets only its own records; an upstream error fails the whole
 * batch (nothing is cached), unless `isolateOn` has each business of it asked again alone.
 */
export function createPairBatcher(opts: PairBatcherOptions): PairBatcher {
  const maxBusinesses = opts.maxBusinesses ?? MAX_BUSINESSES_PER_BATCH
  const maxWaitMs = opts.maxWaitMs ?? opts.windowMs
  // Checks of a burst over fresh connections reach the gate spread over tens of milliseconds, more than one window:
  // a window each miss extends keeps them together (bench scenario 2b: 100 cold users in 4 requests, not 6 to 16).
  const extending = maxWaitMs > opts.windowMs
  const now = opts.now ?? (() => performance.now())
  const open: Partial<Record<Priority, Batch>> = {}

  function flush(batch: Batch): void {
    if (open[batch.priority] === batch) open[batch.priority] = undefined
    clearTimeout(batch.idle)
    clearTimeout(batch.deadline)
    clearImmediate(batch.settling)
    const groups = [...batch.groups]
    opts.client
      .listPermissions(
        groups.map(([business]) => business),
        [...batch.users],
        { priority: batch.priority },
      )
      .then(
        (records) => groups.forEach(([, group]) => group.resolve(records)),
        (err: unknown) => {
          if (groups.length === 1 || !opts.isolateOn?.(err)) return groups.forEach(([, g]) => g.reject(err))
          // A business Kaleyra cannot answer for (an unknown number, a fault of its own) must not take down the
          // checks of the others it happened to share a request with: each asks again alone.
          for (const [business, group] of groups)
            opts.client
              .listPermissions([business], [...group.users], { priority: batch.priority })
              .then(group.resolve, group.reject)
        },
      )
  }

  function openBatch(priority: Priority): Batch {
    const batch: Batch = { priority, groups: new Map(), users: new Set(), misses: 0, idleDueAt: 0 }
    if (opts.windowMs > 0) {
      open[priority] = batch
      const go = () => flush(batch)
      batch.idle = setTimeout(extending ? () => expire(batch) : go, Math.min(opts.windowMs, maxWaitMs))
      if (extending) batch.deadline = setTimeout(go, maxWaitMs)
    }
    return batch
  }

  /** A miss joined: the window runs again from now. */
  function extend(batch: Batch): void {
    batch.idle?.refresh()
    batch.idleDueAt = now() + opts.windowMs
  }

  /**
   * The window ran out. A timer that ran late (the process had no CPU, or was busy) runs before the checks that
   * arrived meanwhile are read: after a pause longer than the window, the window starts again; otherwise the batch
   * goes after one more turn of the event loop, the one that reads them, unless one of them joins.
   */
  function expire(batch: Batch): void {
    if (now() - batch.idleDueAt >= opts.windowMs) return extend(batch)
    const seen = batch.misses
    batch.settling = setImmediate(() => {
      if (batch.misses === seen) flush(batch)
    })
  }

  /** The open batch if the pair fits in it; else that batch goes now and a new one opens. */
  function batchFor(business: string, user: string, priority: Priority): Batch {
    const batch = open[priority]
    if (batch) {
      const fits =
        (batch.users.has(user) || batch.users.size < opts.maxUsers) &&
        (batch.groups.has(business) || batch.groups.size < maxBusinesses)
      if (fits) return batch
      flush(batch)
    }
    return openBatch(priority)
  }

  return {
    async find(business, user, priority = 'live') {
      const batch = batchFor(business, user, priority)
      let group = batch.groups.get(business)
      if (!group) batch.groups.set(business, (group = openGroup()))
      group.users.add(user)
      batch.users.add(user)
      batch.misses++
      if (opts.windowMs === 0 || batch.users.size >= opts.maxUsers) flush(batch)
      else if (extending) extend(batch)
      const records = await group.result
      return records.filter((r) => r.business === business && r.user === user)
    },
  }
}
