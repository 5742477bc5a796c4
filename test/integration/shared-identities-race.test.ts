import { describe, expect, it } from 'vitest'
import { BUSINESS, T0, grant, useGates, type Harness } from '../helpers/gate.js'
import { REDIS_URL, freshPrefix } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, linkingReply, post, replyMessage } from '../helpers/webhooks.js'

/**
 * A BSUID-only reject arriving on the same gate while a reply links that BSUID. The reject resolves the
 * BSUID's identities (sameUser -> phoneOf, a Redis read) before the link is known, and stores itself after the
 * linking reply's synchronous merge ran: it lands on the BSUID's own pair only, which no check reads again (a
 * check by the BSUID is now the number's pair). The number's pair was evicted by the merge and the upstream grants.
 */

const BEARER = 'kaleyra-callback-token-0123'
const auth = { authorization: `Bearer ${BEARER}` }
const PERMANENT = { is_permanent: true, expiresAt: null }
const USERS = 60
const userOf = (i: number) => `+9190000020${String(i).padStart(2, '0')}`
const bsuidOf = (i: number) => `IN.7000000000000000${String(i).padStart(4, '0')}`

const gates = useGates()
const deliver = (h: Harness, messages: unknown[]) =>
  post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, messages), auth)

describe.skipIf(!REDIS_URL)('a BSUID-only reject racing the reply that links the BSUID', () => {
  for (const concurrent of [true, false])
    it(`${concurrent ? '' : '(control, one after the other) '}never allows a user whose newest reply is a reject`, async () => {
      const users = Array.from({ length: USERS }, (_, i) => i)
      const h = await gates.start({
        consents: users.map((i) => grant(userOf(i), PERMANENT)),
        env: {
          REDIS_URL: REDIS_URL ?? '',
          REDIS_KEY_PREFIX: freshPrefix(),
          WEBHOOK_BEARER_TOKEN: BEARER,
          CACHE_NEGATIVE_TTL_SECONDS: '3600',
        },
        logLevel: 'warn',
      })
      await waitFor(async () => (await h.get('/readyz')).body.shared.mode === 'connected', 10_000)
      await Promise.all(
        users.map(async (i) => {
          // The linking reply is an accept from a minute ago; the reject (by the BSUID alone) is newer.
          const link = () => deliver(h, [linkingReply(`link-${i}`, T0 - 60_000, userOf(i), bsuidOf(i))])
          const rej = () =>
            deliver(h, [
              replyMessage({
                id: `rej-${i}`,
                user: userOf(i),
                noFrom: true,
                bsuid: bsuidOf(i),
                at: T0,
                response: 'reject',
              }),
            ])
          if (concurrent) await Promise.all([link(), rej()])
          else {
            await link()
            await rej()
          }
        }),
      )
      const wrong: string[] = []
      for (const i of users) {
        const byNumber = (await h.canCall(userOf(i))).body
        const byBsuid = (await h.canCall(bsuidOf(i))).body
        if (byNumber.allowed !== false || byBsuid.allowed !== false)
          wrong.push(`user ${i}: number ${byNumber.allowed} (${byNumber.source}), bsuid ${byBsuid.allowed}`)
      }
      expect(wrong, `${wrong.length} of ${USERS} users allowed after their reject`).toEqual([])
    })
})
