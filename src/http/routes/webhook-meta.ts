import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { sameSecret, verifyMetaSignature } from '../auth.js'
import { permissionReplies } from './permission-replies.js'
import { describeValidation, mainValidationError } from '../error-handler.js'
import { invalidRequest, type GateError } from '../../lib/errors.js'
import { MessagesValue, MetaWebhook } from '../../schemas/webhooks.js'
import { OWN_AUTH_ROUTE } from './public.js'
import { WEBHOOK_RESPONSES, type Deliveries, type FoundReplies } from './webhook-deliveries.js'

const checkMetaWebhook = Compile(MetaWebhook)
const checkMessagesValue = Compile(MessagesValue)
/** What a request without a body was signed over: Fastify runs no parser then, and leaves req.body undefined. */
const NO_BODY = Buffer.alloc(0)

/**
 * POST /webhooks/meta: Meta's own deliveries, verified with X-Hub-Signature-256 before anything is read. The
 * signature covers the raw bytes, so this plugin's scope parses JSON itself, after verifying them. JSON only, as
 * Meta sends it: the default text/plain parser would hand over a decoded string, not the bytes Meta signed.
 */
export const metaWebhookRoutes: FastifyPluginAsyncTypebox<{
  appSecret: string
  deliveries: Deliveries
}> = async (app, { appSecret, deliveries }) => {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
  app.post(
    '/webhooks/meta',
    {
      config: OWN_AUTH_ROUTE,
      schema: {
        tags: ['events'],
        summary: "Meta's own webhook (messages field), verified with X-Hub-Signature-256",
        description:
          'HMAC-SHA256 of the raw application/json body with META_APP_SECRET; unsigned or mis-signed ' +
          'deliveries get 401, a signed body that is not a delivery 400.',
        response: WEBHOOK_RESPONSES,
      },
    },
    async (req) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : NO_BODY
      const signature = req.headers['x-hub-signature-256']
      if (!verifyMetaSignature(raw, typeof signature === 'string' ? signature : undefined, appSecret)) {
        throw deliveries.refuse('meta_webhook', 'X-Hub-Signature-256 does not match the body.')
      }
      return deliveries.apply('meta_webhook', metaReplies(raw))
    },
  )
}

/** GET /webhooks/meta: the subscription handshake Meta makes before it sends any delivery. */
export const metaHandshakeRoutes: FastifyPluginAsyncTypebox<{ verifyToken: string }> = async (
  app,
  { verifyToken },
) => {
  app.get(
    '/webhooks/meta',
    {
      config: OWN_AUTH_ROUTE,
      schema: {
        tags: ['events'],
        summary: "Meta's subscription handshake: echoes hub.challenge when hub.verify_token matches",
        querystring: Type.Object({
          'hub.mode': Type.String({ maxLength: 64 }),
          'hub.verify_token': Type.String({ maxLength: 256 }),
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
  if (!checkMetaWebhook.Check(body)) throw invalid(checkMetaWebhook, body, '')
  const found: FoundReplies = { replies: [], changes: [], ignored: 0 }
  for (const [e, entry] of body.entry.entries()) {
    for (const [c, change] of entry.changes.entries()) {
      if (change.field !== 'messages') {
        found.ignored++
        continue
      }
      const at = `/entry/${e}/changes/${c}/value`
      if (!checkMessagesValue.Check(change.value)) throw invalid(checkMessagesValue, change.value, at)
      const part = permissionReplies(change.value)
      found.replies.push(...part.replies)
      found.changes?.push(...part.changes)
      found.ignored += part.ignored
    }
  }
  return found
}

/** A 400 naming the field that is wrong and why, as a schema-checked route would (`at`: where `value` sits). */
function invalid(check: Validator, value: unknown, at: string): GateError {
  const first = mainValidationError(check.Errors(value))
  return invalidRequest(describeValidation(first && { ...first, instancePath: at + first.instancePath }))
}
