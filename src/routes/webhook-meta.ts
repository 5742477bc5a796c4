import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { sameSecret, verifyMetaSignature } from '../auth.js'
import { permissionReplies } from '../consent/permission-replies.js'
import { invalidRequest } from '../errors.js'
import { MessagesValue, MetaWebhook } from '../schemas/webhooks.js'
import { OWN_AUTH_ROUTE } from './public.js'
import {
  WEBHOOK_RESPONSES,
  type Deliveries,
  type FoundReplies,
  type WebhookApp,
} from './webhook-deliveries.js'

const checkMetaWebhook = Compile(MetaWebhook)
const checkMessagesValue = Compile(MessagesValue)

/** POST /webhooks/meta: Meta's own deliveries, verified with X-Hub-Signature-256 before anything is read. */
export async function metaWebhook(app: WebhookApp, appSecret: string, deliveries: Deliveries) {
  await app.register(async (meta) => {
    // The signature covers the raw bytes, so this route parses JSON itself, after verifying them.
    meta.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) =>
      done(null, body),
    )
    meta.post(
      '/webhooks/meta',
      {
        config: OWN_AUTH_ROUTE,
        schema: {
          tags: ['events'],
          summary: "Meta's own webhook (messages field), verified with X-Hub-Signature-256",
          description:
            'HMAC-SHA256 of the raw body with META_APP_SECRET; unsigned or mis-signed deliveries get 401.',
          response: WEBHOOK_RESPONSES,
        },
      },
      async (req) => {
        const raw = req.body as Buffer
        const signature = req.headers['x-hub-signature-256']
        if (!verifyMetaSignature(raw, typeof signature === 'string' ? signature : undefined, appSecret)) {
          throw deliveries.refuse('meta_webhook', 'X-Hub-Signature-256 does not match the body.')
        }
        return deliveries.apply('meta_webhook', metaReplies(raw))
      },
    )
  })
}

/** GET /webhooks/meta: the subscription handshake Meta makes before it sends any delivery. */
export function metaHandshake(app: WebhookApp, verifyToken: string) {
  app.get(
    '/webhooks/meta',
    {
      config: OWN_AUTH_ROUTE,
      schema: {
        tags: ['events'],
        summary: "Meta's subscription handshake: echoes hub.challenge when hub.verify_token matches",
        querystring: Type.Object({
          'hub.mode': Type.String(),
          'hub.verify_token': Type.String(),
          'hub.challenge': Type.String({ maxLength: 200 }),
        }),
        response: { 200: Type.String(), 403: Type.String() },
      },
    },
    async (req, reply) => {
      const q = req.query
      const ok = q['hub.mode'] === 'subscribe' && sameSecret(q['hub.verify_token'], verifyToken)
      void reply.type('text/plain')
      return ok ? q['hub.challenge'] : reply.code(403).send('verify token mismatch')
    },
  )
}

/** The replies of every `messages` change of a Meta delivery; anything unreadable rejects the whole delivery. */
function metaReplies(raw: Buffer): FoundReplies {
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch {
    throw invalidRequest('the body is not JSON')
  }
  if (!checkMetaWebhook.Check(body)) throw invalidRequest('the body is not a Meta webhook delivery')
  const found: FoundReplies = { replies: [], ignored: 0 }
  for (const change of body.entry.flatMap((e) => e.changes)) {
    if (change.field !== 'messages') {
      found.ignored++
      continue
    }
    if (!checkMessagesValue.Check(change.value)) throw invalidRequest('a messages change is malformed')
    const part = permissionReplies(change.value)
    found.replies.push(...part.replies)
    found.ignored += part.ignored
  }
  return found
}
