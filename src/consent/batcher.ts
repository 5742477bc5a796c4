import type { ConsentUpstream, PermissionRecord } from '../upstream/port.js'

export interface PairBatcherOptions {
  client: ConsentUpstream
  /** How long the first miss of a batch waits for others (BATCH_WINDOW_MS, default 2). 0: no batching. */
  windowMs: number
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
  /** The records for exactly this pair, looked up together with other pairs missed at the same time. */
  find: (business: string, user: string) => Promise<PermissionRecord[]>
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
  groups: Map<string, Group>
  users: Set<string>
  timer?: NodeJS.Timeout
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
 * Micro-batching of misses: distinct pairs asked within `windowMs` share one upstream request with a comma list of
 * businesses and one of users, whatever business each pair is of (per-business batches halve the batch size for a
 * dialer with two numbers; bench scenario 2). Every page is read before anyone is answered, so a pair is
 * `no_consent` only when no page held it; each pair gets only its own records; an upstream error fails the whole
 * batch (nothing is cached), unless `isolateOn` has each business of it asked again alone.
 */
export function createPairBatcher(opts: PairBatcherOptions): PairBatcher {
  const maxBusinesses = opts.maxBusinesses ?? MAX_BUSINESSES_PER_BATCH
  let open: Batch | undefined

  function flush(batch: Batch): void {
    if (open === batch) open = undefined
    clearTimeout(batch.timer)
    const groups = [...batch.groups]
    opts.client
      .listPermissions(
        groups.map(([business]) => business),
        [...batch.users],
      )
      .then(
        (records) => groups.forEach(([, group]) => group.resolve(records)),
        (err: unknown) => {
          if (groups.length === 1 || !opts.isolateOn?.(err)) return groups.forEach(([, g]) => g.reject(err))
          // A business Kaleyra cannot answer for (an unknown number, a fault of its own) must not take down the
          // checks of the others it happened to share a request with: each asks again alone.
          for (const [business, group] of groups)
            opts.client.listPermissions([business], [...group.users]).then(group.resolve, group.reject)
        },
      )
  }

  function openBatch(): Batch {
    const batch: Batch = { groups: new Map(), users: new Set() }
    if (opts.windowMs > 0) {
      open = batch
      batch.timer = setTimeout(() => flush(batch), opts.windowMs)
    }
    return batch
  }

  /** The open batch if the pair fits in it; else that batch goes now and a new one opens. */
  function batchFor(business: string, user: string): Batch {
    if (open) {
      const fits =
        (open.users.has(user) || open.users.size < opts.maxUsers) &&
        (open.groups.has(business) || open.groups.size < maxBusinesses)
      if (fits) return open
      flush(open)
    }
    return openBatch()
  }

  return {
    async find(business, user) {
      const batch = batchFor(business, user)
      let group = batch.groups.get(business)
      if (!group) batch.groups.set(business, (group = openGroup()))
      group.users.add(user)
      batch.users.add(user)
      if (opts.windowMs === 0 || batch.users.size >= opts.maxUsers) flush(batch)
      const records = await group.result
      return records.filter((r) => r.business === business && r.user === user)
    },
  }
}
