import { request } from 'undici'
import type { KaleyraSimulator } from '../../src/simulator/simulator.js'
import { kaleyraBody, metaBody, post, replyMessage, sign } from '../helpers/webhooks.js'
import { MEMORY_MS, type ConsentView } from './facts.js'
import { pairOf, type ConsentModel, type KaleyraRecord } from './model.js'
import { describeOp, type Op, type RecordSpec } from './ops.js'
import { ADMIN, BEARER, META_SECRET } from './setup.js'

/**
 * Everything but checks: webhook replies, call outcomes, evictions and Kaleyra's records, each sent to the gate
 * and told to the model first (the gate may apply it at any point before it answers).
 */

/** The running gate, as the events see it. */
export interface Target {
  model: ConsentModel
  url: string
  /** Restarts so far: a restarted gate forgot the decision_ids it saw. */
  gen: number
}

/** A reply message, kept so that it can be delivered again. */
export interface Delivery {
  p: number
  message: ReturnType<typeof replyMessage>
  stampMs: number
  consent?: ConsentView
  note: string
}

/** A call-outcome report, kept so that it can be sent again. */
export interface Report {
  p: number
  body: Record<string, unknown>
  gen: number
  atMs: number
}

export const seconds = (ms: number) => Math.floor(ms / 1000) * 1000

export function replyOf(o: Extract<Op, { op: 'reply' }>, nowMs: number, id: string): Delivery {
  const stampMs = seconds(nowMs - o.ageS * 1000)
  const accept = o.response === 'accept'
  const permanent = accept && o.permanent
  const expiresAtMs = accept && !permanent ? seconds(nowMs) + o.expiresInS * 1000 : undefined
  const message = replyMessage({
    id,
    user: pairOf(o.pair).user,
    at: stampMs,
    response: o.response,
    permanent,
    expiresAt: expiresAtMs,
  })
  const consent = accept ? { permanent, expiresAtMs: expiresAtMs ?? null } : undefined
  return { p: o.pair, message, stampMs, consent, note: `${id} ${describeOp(o)}` }
}

export async function deliver(
  t: Target,
  d: Delivery,
  surface: 'kaleyra' | 'meta',
  copies: number,
  replay: boolean,
): Promise<void> {
  const seq = t.model.next()
  t.model.tell(d.p, seq, {
    kind: d.consent ? 'grant' : 'deny',
    via: 'reply',
    atMs: Math.min(d.stampMs, t.model.nowMs),
    consent: d.consent,
    stampMs: d.stampMs,
    replay,
    note: `${replay ? 'again: ' : ''}${d.note}`,
  })
  const { business } = pairOf(d.p)
  const messages = Array.from({ length: copies }, () => d.message)
  let res: { status: number; body: any }
  if (surface === 'kaleyra') {
    const body = kaleyraBody(business, messages)
    res = await post(`${t.url}/webhooks/kaleyra`, body, { authorization: `Bearer ${BEARER}` })
  } else {
    const raw = JSON.stringify(metaBody(business, messages))
    res = await post(`${t.url}/webhooks/meta`, raw, { 'x-hub-signature-256': sign(raw, META_SECRET) })
  }
  if (res.status !== 200)
    throw new Error(`webhook ${d.note}: status ${res.status} ${JSON.stringify(res.body)}`)
  // The streak ends on an accept the gate applied (README: an accept reply ends it).
  if (d.consent && res.body.applied > 0) t.model.streaks.end(d.p, seq, true)
}

export function reportOf(o: Extract<Op, { op: 'outcome' }>, t: Target, id: string): Report {
  const { business, user } = pairOf(o.pair)
  const body = {
    business,
    user,
    outcome: o.outcome,
    ...(o.errorCode !== undefined && { error_code: o.errorCode }),
    ...(o.withId && { decision_id: id }),
  }
  return { p: o.pair, body, gen: t.gen, atMs: t.model.nowMs }
}

/**
 * A report sent again with its decision_id counts once, unless the gate may have forgotten the id (a restart,
 * 7 days, the tiny memory): then it may count, and the model only widens its bounds.
 */
export async function report(t: Target, r: Report, first: boolean): Promise<void> {
  const { model } = t
  const seq = model.next()
  const now = model.nowMs
  const deduped = !first && r.body.decision_id !== undefined
  const mayForget = model.opts.bound !== undefined || r.gen !== t.gen || now - r.atMs >= MEMORY_MS
  if (!deduped || mayForget) {
    const certain = !deduped
    const outcome = r.body.outcome
    if (outcome === 'unanswered' || outcome === 'rejected') model.streaks.count(r.p, seq, now, certain)
    if (outcome === 'answered') model.streaks.end(r.p, seq, certain)
    const note = `outcome ${String(r.body.error_code)}`
    if (certain && r.body.error_code === 138006)
      model.tell(r.p, seq, { kind: 'evict', via: 'outcome', atMs: now, note })
    if (certain && r.body.error_code === 138012)
      model.tell(r.p, seq, { kind: 'deny', via: 'outcome', atMs: now, note })
  }
  const res = await post(`${t.url}/call-outcomes`, r.body)
  if (res.status !== 200) throw new Error(`call outcome: status ${res.status} ${JSON.stringify(res.body)}`)
}

export async function evict(t: Target, scope: 'pair' | 'business' | 'all', p: number): Promise<void> {
  const { business, user } = pairOf(p)
  const seq = t.model.next()
  // "A business-wide or full eviction moves a floor that counts as a fact of every pair"; the cache drops only
  // the pairs of the business.
  for (let other = 0; other < t.model.facts.length; other++) {
    const mine = scope === 'all' || (scope === 'business' ? pairOf(other).business === business : other === p)
    if (mine || scope === 'business')
      t.model.tell(other, seq, {
        kind: mine ? 'evict' : 'floor',
        via: 'admin',
        atMs: t.model.nowMs,
        note: `DELETE /cache ${scope}`,
      })
  }
  const q = encodeURIComponent
  const query =
    scope === 'pair'
      ? `?business=${q(business)}&user=${q(user)}`
      : scope === 'business'
        ? `?business=${q(business)}`
        : ''
  const res = await request(`${t.url}/cache${query}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${ADMIN}` },
  })
  const text = await res.body.text()
  if (res.statusCode !== 200) throw new Error(`DELETE /cache${query}: status ${res.statusCode} ${text}`)
}

/** Sets what the simulator holds for the pair; expiries count from the clock now. */
export function setKaleyra(model: ConsentModel, sim: KaleyraSimulator, p: number, spec: RecordSpec): void {
  const { business, user } = pairOf(p)
  const expiresAtMs = 'expiresInS' in spec ? seconds(model.nowMs) + spec.expiresInS * 1000 : 0
  const record: KaleyraRecord =
    spec.kind === 'temporary' || spec.kind === 'limited'
      ? { kind: spec.kind, expiresAtMs }
      : { kind: spec.kind }
  model.kaleyra[p] = record
  if (spec.kind === 'none') return sim.remove(business, user)
  const accept = spec.kind !== 'reject'
  sim.upsert({
    business,
    user,
    response: accept ? 'accept' : 'reject',
    can_perform_action: accept && spec.kind !== 'limited',
    is_permanent: spec.kind === 'permanent',
    expiresAt: 'expiresInS' in spec ? expiresAtMs : null,
  })
}
