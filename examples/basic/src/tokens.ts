import { randomBytes, randomUUID } from 'node:crypto'
import jwt from '@fastify/jwt'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { IssueToken } from 'fastify-device-grant'

/**
 * Ten minutes: a stolen access token is soon worthless. There is no refresh token (see the
 * README): when this one expires, the device runs the device flow again.
 */
export const ACCESS_TOKEN_LIFETIME = 600

export interface AccessTokenOptions {
  /** The `iss` claim, and the only issuer `/api/me` accepts. */
  issuer: string
  /** HS256 key. Without one, a random key per start: every token dies with the process. */
  secret?: string | undefined
}

/** The claims of the example's access tokens (RFC 9068 names). */
export interface AccessTokenClaims {
  iss: string
  aud: string
  sub: string
  client_id: string
  scope: string
  jti: string
  iat: number
  exp: number
}

/** The audience of the tokens: this server's API, so a token minted for another API is refused. */
export const apiAudience = (issuer: string) => new URL('/api', issuer).href

/** RFC 6750 §3: no error code when no token was sent at all, `invalid_token` when a bad one was. */
function unauthorized (reply: FastifyReply, error?: 'invalid_token' | 'invalid_request') {
  const challenge = error === undefined ? 'Bearer realm="example-basic"' : `Bearer realm="example-basic", error="${error}"`
  return reply.code(error === 'invalid_request' ? 400 : 401).header('www-authenticate', challenge)
    .send(error === undefined ? { error: 'unauthorized', error_description: 'A bearer token is required' } : { error })
}

/**
 * Registers `@fastify/jwt` and `GET /api/me` on `app`, and returns the `issueToken` that mints
 * signed JWT access tokens for the device grant.
 */
export async function accessTokens (app: FastifyInstance, options: AccessTokenOptions): Promise<IssueToken> {
  const audience = apiAudience(options.issuer)
  await app.register(jwt, {
    secret: options.secret ?? randomBytes(32).toString('base64url'),
    sign: { algorithm: 'HS256', iss: options.issuer, aud: audience, expiresIn: ACCESS_TOKEN_LIFETIME, header: { alg: 'HS256', typ: 'at+jwt' } },
    // Pinning the algorithm, issuer and audience is what makes a verified token one we minted for this API.
    verify: { algorithms: ['HS256'], allowedIss: options.issuer, allowedAud: audience, requiredClaims: ['sub', 'client_id', 'exp'], checkTyp: 'at+jwt' }
  })

  app.get('/api/me', async (request, reply) => {
    const header = request.headers.authorization
    if (header === undefined || !/^Bearer(\s|$)/i.test(header)) return unauthorized(reply)
    // RFC 6750 §2.1: "Bearer" 1*SP b64token.
    const token = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header)?.[1]
    if (token === undefined) return unauthorized(reply, 'invalid_request')
    let claims: AccessTokenClaims
    try {
      claims = app.jwt.verify<AccessTokenClaims>(token)
    } catch {
      return unauthorized(reply, 'invalid_token')
    }
    return { subject: claims.sub, clientId: claims.client_id, scope: claims.scope }
  })

  return ({ subject, client, scope }) => {
    const claims = { sub: subject, client_id: client.clientId, scope, jti: randomUUID() }
    return { access_token: app.jwt.sign(claims), token_type: 'Bearer', expires_in: ACCESS_TOKEN_LIFETIME, scope }
  }
}
