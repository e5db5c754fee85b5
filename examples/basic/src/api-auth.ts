import { DpopProofError, dpopChallenge, parseAuthorization, type DpopVerifier } from '@device-grant/dpop'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AccessTokenClaims } from './tokens.js'

const REALM = 'example-basic'

export interface ApiAuthOptions {
  /** Checks the DPoP proofs of requests with `Authorization: DPoP` (replay-checked in the grant store). */
  dpop: DpopVerifier
  /** This server's origin as its issuer names it: the proofs' `htu` is built on it, never on Host. */
  origin: string
}

/** RFC 6750 §3 for a Bearer token that is malformed or not valid. */
function bearerRefusal (reply: FastifyReply, error: 'invalid_token' | 'invalid_request') {
  return reply.code(error === 'invalid_request' ? 400 : 401).header('www-authenticate', `Bearer realm="${REALM}", error="${error}"`).send({ error })
}

/** RFC 9449 §7.1: a DPoP challenge naming the error and the algorithms the API accepts. */
function dpopRefusal (reply: FastifyReply, dpop: DpopVerifier, error: string, description: string, nonce?: string) {
  if (nonce !== undefined) reply.header('dpop-nonce', nonce)
  return reply.code(error === 'invalid_request' ? 400 : 401)
    .header('www-authenticate', dpopChallenge({ realm: REALM, error, description, algorithms: dpop.algorithms }))
    .send({ error, error_description: description })
}

/**
 * The API's access check: a token minted by this server, presented as `Bearer` when it is not
 * bound, or as `DPoP` with a proof by the key it is bound to (RFC 9449 §7). Resolves the claims,
 * or sends the refusal and resolves undefined.
 */
export async function authenticateApiRequest (app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, options: ApiAuthOptions): Promise<AccessTokenClaims | undefined> {
  const presented = parseAuthorization(request.headers.authorization)
  if (presented.scheme === 'none' || presented.scheme === 'other') {
    // Both schemes are offered (RFC 9449 §7.1): bound tokens want DPoP, the rest Bearer.
    await reply.code(401).header('www-authenticate', [`Bearer realm="${REALM}"`, dpopChallenge({ realm: REALM, algorithms: options.dpop.algorithms })])
      .send({ error: 'unauthorized', error_description: 'A bearer token is required' })
    return undefined
  }
  const { scheme, token } = presented
  if (token === undefined) {
    await (scheme === 'bearer' ? bearerRefusal(reply, 'invalid_request') : dpopRefusal(reply, options.dpop, 'invalid_request', 'the DPoP token is malformed'))
    return undefined
  }
  let claims: AccessTokenClaims
  try {
    claims = app.jwt.verify<AccessTokenClaims>(token)
  } catch {
    await (scheme === 'bearer' ? bearerRefusal(reply, 'invalid_token') : dpopRefusal(reply, options.dpop, 'invalid_token', 'the access token is not valid'))
    return undefined
  }
  const boundTo = claims.cnf?.jkt
  if (scheme === 'bearer') {
    if (boundTo === undefined) return claims
    // RFC 9449 §7.2: a bound token presented as a bearer token is refused, with a DPoP challenge.
    await dpopRefusal(reply, options.dpop, 'invalid_token', 'this token is bound to a DPoP key: send it as Authorization: DPoP with a proof')
    return undefined
  }
  if (boundTo === undefined) {
    await dpopRefusal(reply, options.dpop, 'invalid_token', 'this token is not DPoP-bound: send it as Authorization: Bearer')
    return undefined
  }
  const query = request.url.indexOf('?')
  const url = options.origin + (query < 0 ? request.url : request.url.slice(0, query))
  try {
    const proof = await options.dpop.verify({ proof: request.headers.dpop, method: request.method, url, accessToken: token })
    if (proof.jkt === boundTo) return claims
    await dpopRefusal(reply, options.dpop, 'invalid_token', 'the proof is signed by another key than the one the token is bound to')
  } catch (err) {
    if (!(err instanceof DpopProofError)) throw err
    await dpopRefusal(reply, options.dpop, err.error, err.description, err.nonce)
  }
  return undefined
}
