import type { CanCallResult, ConsentGateClient } from '../client/index.js'
import { EXIT, gateBody } from './results.js'

export interface CheckOptions {
  fresh?: boolean
  json?: boolean
}

/** What each reason means, in the words of the README's reason table. */
const MEANING: Record<string, string> = {
  consent_granted: 'accepted, permitted, not expired',
  consent_rejected: 'the user rejected',
  consent_expired: "the permission's expiry is past",
  action_not_permitted: 'accepted, but the call limit is reached',
  no_consent: 'the upstream holds no permission for the pair',
  consent_unrecognized: 'a record the gate does not fully understand',
  unanswered_streak: 'too many unanswered or rejected calls in a row',
  identity_unresolved: 'a BSUID with no known number, and Kaleyra knows numbers only',
}

/** `consent-gate check`: one decision; exit 0 allowed, 1 not allowed, 2 undetermined or bad input. */
export async function check(
  client: Pick<ConsentGateClient, 'canCall'>,
  business: string,
  user: string,
  opts: CheckOptions,
  out: (line: string) => void,
): Promise<number> {
  const result = await client.canCall({ business, user, ...(opts.fresh ? { fresh: true } : {}) })
  out(opts.json ? JSON.stringify(gateBody(result)) : describe(result))
  if (result.verdict === 'allowed') return EXIT.ok
  return result.verdict === 'denied' ? EXIT.notAllowed : EXIT.undetermined
}

/** Lines for a person: the verdict and reason first, then what else the answer says. */
export function describe(result: CanCallResult): string {
  if (result.verdict === 'undetermined') {
    const head = result.reason === 'invalid_request' ? 'bad input' : 'undetermined (do not call)'
    const retry =
      result.retry_after_seconds === undefined ? '' : `\nretry after ${result.retry_after_seconds} s`
    return `${head}: ${result.reason}\n${result.message}${retry}`
  }
  const head = result.allowed ? 'allowed' : 'not allowed'
  const expiry = result.consent?.expires_at
  const lines = [
    `${head}: ${result.reason} (${MEANING[result.reason] ?? result.reason})`,
    `${result.business} -> ${result.user}`,
  ]
  if (result.consent) lines.push(`expires: ${expiry ?? 'never (permanent)'}`)
  if (result.retry_at) lines.push(`call again after: ${result.retry_at}`)
  if (result.can_request_permission !== null)
    lines.push(`may ask for permission now: ${result.can_request_permission ? 'yes' : 'no'}`)
  lines.push(`source: ${result.source}, checked at ${result.checked_at}`, `decision: ${result.decision_id}`)
  return lines.join('\n')
}
