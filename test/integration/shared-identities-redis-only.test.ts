import { afterEach, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { BUSINESS, T0, grant, useGates, type Harness } from '../helpers/gate.js'
import { REDIS_URL, freshPrefix } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { kaleyraBody, linkingReply, post, replyMessage } from '../helpers/webhooks.js'

/**
 * A link made on a gate that holds nothing of the BSUID, while the BSUID's reject lives in Redis (under
 * the reply's own business). mergeHere() keeps only pairs this gate holds anything of (heldPairs filters `also` too),
 * so nothing is merged, the link is written, and checks by either identity now resolve to the number's pair, which
 * the upstream grants. docs/identities.md says such a pair is still "merged under the reply's own business".
 */

const USER = '+919000000001'
const BSUID = 'IN.13491208655302741918'
const BEARER = 'kaleyra-callback-token-0123'
const auth = { authorization: `Bearer ${BEARER}` }
const PERMANENT = { is_permanent: true, expiresAt: null }

let admin: Redis | undefined
afterEach(async () => {
  await admin?.quit()
  admin = undefined
})
const gates = useGates()

const deliver = (h: Harness, messages: unknown[]) =>
  post(`${h.url}/webhooks/kaleyra`, kaleyraBody(BUSINESS, messages), auth)

describe.skipIf(!REDIS_URL)('a link on a gate that holds nothing of the BSUID, its reject in Redis', () => {
  const url = REDIS_URL ?? ''
  const start = (prefix: string) =>
    gates.start({
      consents: [grant(USER, PERMANENT)],
      env: {
        REDIS_URL: url,
        REDIS_KEY_PREFIX: prefix,
        WEBHOOK_BEARER_TOKEN: BEARER,
        CACHE_NEGATIVE_TTL_SECONDS: '3600',
      },
      logLevel: 'warn',
    })
  const connected = (h: Harness) =>
    waitFor(async () => (await h.get('/readyz')).body.shared.mode === 'connected', 10_000)

  for (const restarted of [true, false])
    it(`${restarted ? '' : '(control) '}never allows the user once a late accept links the BSUID${restarted ? ' after every gate that saw the reject restarted' : ''}`, async () => {
      const prefix = freshPrefix()
      admin = new Redis(url)
      const g1 = await start(prefix)
      await connected(g1)
      // The username user rejects (no `from`): the reject is stored in Redis under (business, BSUID).
      await deliver(g1, [
        replyMessage({ id: 'rej', user: USER, noFrom: true, bsuid: BSUID, at: T0, response: 'reject' }),
      ])
      await waitFor(async () => (await admin!.exists(`${prefix}d:${BUSINESS}|${BSUID}`)) === 1, 5000)
      if (restarted) await g1.close() // a deploy: the reject now lives only in Redis
      const g2 = await start(prefix)
      await connected(g2)
      // An accept from before the reject, naming both identities, links them on g2.
      await deliver(g2, [linkingReply('old', T0 - 60_000)])
      // The fleet's newest fact of this user is the reject: neither identity may be allowed.
      const byNumber = (await g2.canCall(USER)).body
      expect(byNumber, `by number (source ${byNumber.source})`).toMatchObject({ allowed: false })
      expect((await g2.canCall(BSUID)).body, 'by BSUID').toMatchObject({ allowed: false })
    })
})
