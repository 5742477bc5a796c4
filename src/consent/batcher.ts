import type { KaleyraClient, PermissionRecord } from '../kaleyra/client.js'

export interface PairBatcherOptions {
  client: Pick<KaleyraClient, 'listPermissions'>
  /** How long the first miss for a business waits for others (BATCH_WINDOW_MS, default 2). 0: no batching. */
  windowMs: number
  /** Users per upstream request (BATCH_MAX_USERS, default 25: Kaleyra's page size). A full batch goes at once. */
  maxUsers: number
}

export interface PairBatcher {
  /** The records for exactly this pair, looked up together with other users of the same business. */
  find: (business: string, user: string) => Promise<PermissionRecord[]>
}

interface Batch {
  business: string
  users: Set<string>
  result: Promise<PermissionRecord[]>
  resolve: (records: PermissionRecord[]) => void
  reject: (err: unknown) => void
  timer?: NodeJS.Timeout
}

/**
 * Micro-batching of misses: distinct users of one business asked within `windowMs` share one upstream
 * request with a comma list of users. Every page is read before anyone is answered, so a pair is
 * `no_consent` only when no page held it; an upstream error fails the whole batch (nothing is cached).
 */
export function createPairBatcher(opts: PairBatcherOptions): PairBatcher {
  const open = new Map<string, Batch>()

  function flush(batch: Batch): void {
    if (open.get(batch.business) === batch) open.delete(batch.business)
    clearTimeout(batch.timer)
    opts.client.listPermissions([batch.business], [...batch.users]).then(batch.resolve, batch.reject)
  }

  function openBatch(business: string): Batch {
    // Promise.withResolvers needs Node 22; the gate runs on 20.
    let resolve!: Batch['resolve']
    let reject!: Batch['reject']
    const result = new Promise<PermissionRecord[]>((res, rej) => {
      resolve = res
      reject = rej
    })
    const batch: Batch = { business, users: new Set(), result, resolve, reject }
    if (opts.windowMs > 0) {
      open.set(business, batch)
      batch.timer = setTimeout(() => flush(batch), opts.windowMs)
    }
    return batch
  }

  return {
    async find(business, user) {
      const batch = open.get(business) ?? openBatch(business)
      batch.users.add(user)
      if (opts.windowMs === 0 || batch.users.size >= opts.maxUsers) flush(batch)
      const records = await batch.result
      return records.filter((r) => r.business === business && r.user === user)
    },
  }
}
