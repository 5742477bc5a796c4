import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

const digest = (s: string) => createHash('sha256').update(s).digest()

/**
 * Checks an `Authorization: Bearer <token>` header against the configured tokens (several, for rotation).
 * Both sides are hashed first so the comparison is constant-time whatever the lengths, and every token is
 * compared, so timing does not tell which one matched.
 */
export function createBearerCheck(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  const expected = tokens.map(digest)
  return (authorization) => {
    const m = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)
    const given = digest(m?.[1] ?? '')
    let ok = false
    for (const e of expected) ok = timingSafeEqual(e, given) || ok
    return ok && m !== null
  }
}

/** Compares two secrets in constant time, whatever their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected))
}

/** Checks `Authorization: Basic ...` against `user:password`, in constant time. */
export function createBasicCheck(userPassword: string): (authorization: string | undefined) => boolean {
  const expected = digest(userPassword)
  return (authorization) => {
    const m = authorization === undefined ? null : /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(authorization)
    const given = digest(m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '')
    return timingSafeEqual(expected, given) && m !== null
  }
}

/**
 * Meta signs every webhook: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`.
 * Computed over the raw bytes (a re-serialized body would differ) and compared in constant time.
 */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  const m = header === undefined ? null : /^sha256=([0-9a-f]{64})$/i.exec(header.trim())
  if (!m?.[1]) return false
  const expected = createHmac('sha256', appSecret).update(rawBody).digest()
  return timingSafeEqual(expected, Buffer.from(m[1], 'hex'))
}
