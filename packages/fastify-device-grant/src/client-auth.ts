import {
  authenticateClient,
  isOAuthError,
  OAuthError,
  readClientClaim,
  verifyClient,
  type AuthenticatedClient,
  type ClientLookup,
  type PresentedCredentials
} from '@device-grant/core'
import type { ClientAuthLimits } from './limits.js'

/** Client authentication for one request: what it presented, and where it came from. */
export type ClientAuthenticator = (presented: PresentedCredentials, ip: string) => Promise<AuthenticatedClient>

const BLOCKED = 'too many failed client authentications; try again later'

/**
 * Client authentication with brute-force protection. Only a request that presents a secret is
 * a guess, so only those are checked and counted: public clients (most polls) go straight to
 * core's `authenticateClient`, with no counter in their way.
 */
export function clientAuthenticator (clients: ClientLookup, limits: ClientAuthLimits | undefined): ClientAuthenticator {
  if (limits === undefined) return presented => authenticateClient(presented, clients)
  const limited = limits

  // Not async itself: a public client's request (nearly every poll) goes straight through.
  return function authenticate (presented, ip) {
    const secret = presented.basic === undefined ? presented.clientSecret : presented.basic.clientSecret
    if (secret === undefined) return authenticateClient(presented, clients)
    return authenticateSecret(presented, ip)
  }

  /**
   * Resolve the client, count the attempt against its limits (refused when over), verify the
   * secret, record the outcome: a success is refunded, a failure stays counted.
   */
  async function authenticateSecret (presented: PresentedCredentials, ip: string): Promise<AuthenticatedClient> {
    const claim = readClientClaim(presented)
    const client = await clients(claim.clientId)
    const counted = await limited.attempt(ip, claim.clientId, client)
    if (counted.retryAfter !== undefined) {
      throw new OAuthError('invalid_client', BLOCKED, { basicChallenge: claim.method === 'client_secret_basic', retryAfter: counted.retryAfter })
    }
    let verified: AuthenticatedClient
    try {
      verified = verifyClient(claim, client)
    } catch (err) {
      const retryAfter = limited.failed(counted.attempt)
      // The failure that uses up a budget already says when to come back.
      if (retryAfter === undefined || !isOAuthError(err)) throw err
      throw new OAuthError('invalid_client', err.description, { basicChallenge: err.basicChallenge, retryAfter, cause: err })
    }
    await limited.succeeded(counted.attempt)
    return verified
  }
}
