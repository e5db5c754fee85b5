import { randomBytes, randomUUID } from 'node:crypto'
import jwt from '@fastify/jwt'
import { DpopVerifier, type ReplayStore } from '@device-grant/dpop'
import type { FastifyInstance } from 'fastify'
import type { IssueToken } from 'fastify-device-grant'
import { authenticateApiRequest } from './api-auth.js'

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
  /** Where the API remembers DPoP proof `jti`s: the grant store, so every instance sees every proof. */
  replay: ReplayStore
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
  /** RFC 9449 §6.1: the thumbprint of the DPoP key the token is bound to. */
  cnf?: { jkt: string }
}

/** The audience of the tokens: this server's API, so a token minted for another API is refused. */
export const apiAudience = (issuer: string) => new URL('/api', issuer).href

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

  // Proofs for the API: GET, `ath` of the token, replay-checked; htu from the issuer's origin.
  const api = { dpop: new DpopVerifier({ replay: options.replay }), origin: new URL(options.issuer).origin }
  app.get('/api/me', async (request, reply) => {
    const claims = await authenticateApiRequest(app, request, reply, api)
    if (claims === undefined) return reply
    return { subject: claims.sub, clientId: claims.client_id, scope: claims.scope }
  })

  return ({ subject, client, scope, dpopJkt }) => {
    const claims = { sub: subject, client_id: client.clientId, scope, jti: randomUUID(), ...(dpopJkt !== undefined && { cnf: { jkt: dpopJkt } }) }
    // RFC 9449 §5: a bound token says so in its type; the client must then present it with proofs.
    return { access_token: app.jwt.sign(claims), token_type: dpopJkt === undefined ? 'Bearer' : 'DPoP', expires_in: ACCESS_TOKEN_LIFETIME, scope }
  }
}
