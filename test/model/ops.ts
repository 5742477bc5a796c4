import { pairName } from './model.js'

/** A Kaleyra record as a command sets it; expiries are relative to the clock when it runs. */
export type RecordSpec =
  { kind: 'none' | 'reject' | 'permanent' } | { kind: 'temporary' | 'limited'; expiresInS: number }

/** One thing done to the gate, its upstream or its clock: plain data, so a counterexample reads as a script. */
export type Op =
  | { op: 'check'; pair: number; fresh: boolean }
  | {
      op: 'reply'
      pair: number
      surface: 'kaleyra' | 'meta'
      response: 'accept' | 'reject'
      permanent: boolean
      /** Expiry of a temporary accept, from now. */
      expiresInS: number
      /** How long before now the user replied; negative: a timestamp in the future. */
      ageS: number
      /** 2: the same message twice in one delivery. */
      copies: 1 | 2
    }
  /** Delivers an earlier message again, id and all. */
  | { op: 'replay'; pick: number; surface: 'kaleyra' | 'meta' }
  | {
      op: 'outcome'
      pair: number
      outcome: 'answered' | 'unanswered' | 'rejected' | 'failed'
      errorCode?: 138006 | 138012
      withId: boolean
    }
  /** Sends an earlier call-outcome report again, as it was. */
  | { op: 'reoutcome'; pick: number }
  | { op: 'evict'; scope: 'pair' | 'business' | 'all'; pair: number }
  | { op: 'kaleyra'; pair: number; record: RecordSpec }
  | { op: 'advance'; ms: number }
  | { op: 'restart' }
  /** Requests run together: fc.scheduler orders them and when each held Kaleyra answer is released. */
  | { op: 'batch'; ops: Op[] }

const duration = (ms: number) =>
  Math.abs(ms) >= 86_400_000
    ? `${(ms / 86_400_000).toFixed(2)}d`
    : Math.abs(ms) >= 60_000
      ? `${(ms / 60_000).toFixed(1)}m`
      : `${ms / 1000}s`

export function describeOp(o: Op): string {
  switch (o.op) {
    case 'check':
      return `check ${pairName(o.pair)}${o.fresh ? ' fresh' : ''}`
    case 'reply': {
      const what =
        o.response === 'reject'
          ? 'reject'
          : o.permanent
            ? 'accept permanent'
            : `accept +${duration(o.expiresInS * 1000)}`
      return `${o.surface} ${what} ${pairName(o.pair)} age ${duration(o.ageS * 1000)}${o.copies === 2 ? ' x2' : ''}`
    }
    case 'replay':
      return `replay #${o.pick} via ${o.surface}`
    case 'outcome':
      return `outcome ${pairName(o.pair)} ${o.outcome}${o.errorCode ? ` ${o.errorCode}` : ''}${o.withId ? ' with id' : ''}`
    case 'reoutcome':
      return `outcome again #${o.pick}`
    case 'evict':
      return `evict ${o.scope === 'all' ? 'all' : o.scope === 'business' ? `business of ${pairName(o.pair)}` : pairName(o.pair)}`
    case 'kaleyra':
      return `kaleyra ${pairName(o.pair)} := ${o.record.kind}${'expiresInS' in o.record ? ` ${duration(o.record.expiresInS * 1000)}` : ''}`
    case 'advance':
      return `advance ${duration(o.ms)}`
    case 'restart':
      return 'restart'
    case 'batch':
      return `together[${o.ops.map(describeOp).join(', ')}]`
  }
}
