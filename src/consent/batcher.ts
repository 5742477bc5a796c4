import type { KaleyraClient, PermissionRecord } from '../kaleyra/client.js'

export interface PairBatcherOptions {
  client: Pick<KaleyraClient, 'listPermissions'>
  /** How long the first miss of a batch waits for others (BATCH_WINDOW_MS, default 2). 0: no batching. */
  windowMs: number
  /** Distinct users per upstream request (BATCH_MAX_USERS, default 25: Kaleyra's page size). A full batch goes at once. */
  maxUsers: number
  /** Distinct business numbers per upstream request. Default 4 (MAX_BUSINESSES_PER_BATCH). */
  maxBusinesses?: number
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

interface Batch {
  businesses: Set<string>
  users: Set<string>
  result: Promise<PermissionRecord[]>
  resolve: (records: PermissionRecord[]) => void
  reject: (err: unknown) => void
  timer?: NodeJS.Timeout
}

/**
 * Micro-batching of misses: distinct pairs asked within `windowMs` share one upstream request with a comma list of
 * businesses and one of users, whatever business each pair is of (per-business batches halve the batch size for a
 * dialer with two numbers; bench scenario 2). Every page is read before anyone is answered, so a pair is
 * `no_consent` only when no page held it; each pair gets only its own records; an upstream error fails the whole
 * batch (nothing is cached).
 */
export function createPairBatcher(opts: PairBatcherOptions): PairBatcher {
  const maxBusinesses = opts.maxBusinesses ?? MAX_BUSINESSES_PER_BATCH
  let open: Batch | undefined

  function flush(batch: Batch): void {
    if (open === batch) open = undefined
    clearTimeout(batch.timer)
    opts.client.listPermissions([...batch.businesses], [...batch.users]).then(batch.resolve, batch.reject)
  }

  function openBatch(): Batch {
    // Promise.withResolvers needs Node 22; the gate runs on 20.
    let resolve!: Batch['resolve']
    let reject!: Batch['reject']
    const result = new Promise<PermissionRecord[]>((res, rej) => {
      resolve = res
      reject = rej
    })
    const batch: Batch = { businesses: new Set(), users: new Set(), result, resolve, reject }
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
        (open.businesses.has(business) || open.businesses.size < maxBusinesses)
      if (fits) return open
      flush(open)
    }
    return openBatch()
  }

  return {
    async find(business, user) {
      const batch = batchFor(business, user)
      batch.businesses.add(business)
      batch.users.add(user)
      if (opts.windowMs === 0 || batch.users.size >= opts.maxUsers) flush(batch)
      const records = await batch.result
      return records.filter((r) => r.business === business && r.user === user)
    },
  }
}
