import { createHash, timingSafeEqual } from 'node:crypto'

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
