import {
  checkBusEnvelope,
  flatDecision,
  isTrustedDecision,
  type BusMessage,
  type StoredDecision as Decision,
} from '../schemas/decision.js'

/**
 * A decision another gate wrote to Redis (an entry or a bus message), as this gate keeps it; undefined when it
 * cannot be trusted, so a shared entry never invents a yes.
 */
export function fromWire(value: unknown): Decision | undefined {
  return isTrustedDecision(value) ? flatDecision(value) : undefined
}

/**
 * A message another gate published, read; undefined when malformed. A decision message whose decision cannot be
 * trusted still names its pair: that pair is evicted here (the next check asks again), never left as it was.
 */
export function fromWireMessage(value: unknown): { message?: BusMessage; readable: boolean } {
  if (!checkBusEnvelope.Check(value)) return { readable: false }
  if (value.type !== 'decision') return { message: value as BusMessage, readable: true }
  const decision = fromWire(value.decision)
  if (decision) return { message: { type: 'decision', key: value.key, decision }, readable: true }
  return { message: { type: 'evict', key: value.key }, readable: false }
}
