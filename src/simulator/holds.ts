import type { ServerResponse } from 'node:http'
import type { SimHold, SimRequest } from './types.js'

interface Held {
  q: SimRequest
  res: ServerResponse
  respond: () => void
}

/**
 * Answers a test holds back and releases when it chooses: how a test puts other requests to the gate between
 * Kaleyra being asked and Kaleyra answering.
 */
export function createHolds() {
  const open: Held[][] = []
  return {
    /** Keeps the request in the newest open hold; false when none is open and it is answered now. */
    take(q: SimRequest, res: ServerResponse, respond: () => void): boolean {
      const newest = open.at(-1)
      newest?.push({ q, res, respond })
      return newest !== undefined
    },
    open(): SimHold {
      const held: Held[] = []
      open.push(held)
      return {
        get requests() {
          return held.map((h) => h.q)
        },
        release() {
          const at = open.indexOf(held)
          if (at >= 0) open.splice(at, 1)
          const released = held.splice(0)
          for (const h of released) h.respond()
          return released.map((h) => h.q)
        },
      }
    },
    /** On close: what is still held goes with its connection, never answered. */
    drop(): void {
      for (const held of open.splice(0)) for (const h of held.splice(0)) h.res.destroy()
    },
  }
}
