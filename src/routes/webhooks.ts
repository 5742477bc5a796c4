import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { createBasicCheck, createBearerCheck, sameSecret, verifyMetaSignature } from '../auth.js'
import type { Config } from '../config.js'
import type { ConsentEvents, PermissionReply, ReplyResult } from '../consent/events.js'
import { permissionReplies } from '../consent/permission-replies.js'
import { GateError, invalidRequest } from '../errors.js'
import type { GateMetrics } from '../metrics.js'
import { InvalidRequestBody, UnauthorizedBody } from '../schemas/errors.js'
import { KaleyraCallback, MessagesValue, MetaWebhook, WebhookAnswer } from '../schemas/webhooks.js'
import { OWN_AUTH_ROUTE } from './public.js'

type Kind = 'kaleyra_webhook' | 'meta_webhook'
type Options = { webhooks: Config['webhooks']; events: ConsentEvents; metrics: GateMetrics }

const checkMetaWebhook = Compile(MetaWebhook)
const checkMessagesValue = Compile(MessagesValue)
const RESPONSES = { 200: WebhookAnswer, 400: InvalidRequestBody, 401: UnauthorizedBody }

/** Permission replies pushed in: each surface is registered only when its secret is configured. */
export const webhookRoutes: FastifyPluginAsyncTypebox<Options> = async (
  app,
  { webhooks, events, metrics },
) => {
  /** Applies a whole delivery: every reply was read before the first is applied, so a bad one changes nothing. */
  async function apply(
    kind: Kind,
    found: { replies: PermissionReply[]; ignored: number },
  ): Promise<WebhookAnswer> {
    const answer = {
      received: found.replies.length,
      applied: 0,
      duplicates: 0,
      outdated: 0,
      ignored: found.ignored,
    }
    const field: Record<ReplyResult, 'applied' | 'duplicates' | 'outdated'> = {
      applied: 'applied',
      duplicate: 'duplicates',
      outdated: 'outdated',
    }
    for (const reply of found.replies) {
      const result = await events.applyReply(reply)
      answer[field[result]]++
      metrics.events.inc({ kind, result })
    }
    if (found.ignored > 0) metrics.events.inc({ kind, result: 'ignored' }, found.ignored)
    return answer
  }

  const refuse = (kind: Kind, message: string) => {
    metrics.events.inc({ kind, result: 'unauthorized' })
    return new GateError('unauthorized', message)
  }

  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode !== 400) return
    metrics.events.inc({
      kind: req.url.startsWith('/webhooks/meta') ? 'meta_webhook' : 'kaleyra_webhook',
      result: 'invalid',
    })
  })

  const { bearerToken, basicAuth, metaAppSecret, metaVerifyToken } = webhooks
  if (bearerToken || basicAuth) {
    const bearer = bearerToken ? createBearerCheck([bearerToken]) : () => false
    const basic = basicAuth ? createBasicCheck(basicAuth) : () => false
    app.post(
      '/webhooks/kaleyra',
      {
        config: OWN_AUTH_ROUTE,
        onRequest: async (req: FastifyRequest) => {
          const auth = req.headers.authorization
          if (!bearer(auth) && !basic(auth))
            throw refuse('kaleyra_webhook', 'The callback credentials are not valid.')
        },
        schema: {
          tags: ['events'],
          summary: 'Kaleyra callback: permission replies (Meta messages value passed through)',
          description:
            'Auth: Authorization Bearer WEBHOOK_BEARER_TOKEN or Basic WEBHOOK_BASIC_AUTH, as Kaleyra callback ' +
            'profiles send them. Each call_permission_reply is applied once; other message types are ignored.',
          body: KaleyraCallback,
          response: RESPONSES,
        },
      },
      async (req) => apply('kaleyra_webhook', permissionReplies(req.body.meta_object.value)),
    )
  }

  if (metaAppSecret) {
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
            response: RESPONSES,
          },
        },
        async (req) => {
          const raw = req.body as Buffer
          const signature = req.headers['x-hub-signature-256']
          if (
            !verifyMetaSignature(raw, typeof signature === 'string' ? signature : undefined, metaAppSecret)
          ) {
            throw refuse('meta_webhook', 'X-Hub-Signature-256 does not match the body.')
          }
          return apply('meta_webhook', metaReplies(raw))
        },
      )
    })
  }

  if (metaVerifyToken) {
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
        const ok = q['hub.mode'] === 'subscribe' && sameSecret(q['hub.verify_token'], metaVerifyToken)
        void reply.type('text/plain')
        return ok ? q['hub.challenge'] : reply.code(403).send('verify token mismatch')
      },
    )
  }
}

/** The replies of every `messages` change of a Meta delivery; anything unreadable rejects the whole delivery. */
function metaReplies(raw: Buffer): { replies: PermissionReply[]; ignored: number } {
  let body: unknown
  try {
    body = JSON.parse(raw.toString('utf8'))
  } catch {
    throw invalidRequest('the body is not JSON')
  }
  if (!checkMetaWebhook.Check(body)) throw invalidRequest('the body is not a Meta webhook delivery')
  const found = { replies: [] as PermissionReply[], ignored: 0 }
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
