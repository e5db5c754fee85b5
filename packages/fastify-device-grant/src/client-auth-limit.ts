import {
  authenticateClient,
  isOAuthError,
  OAuthError,
  type AuthenticatedClient,
  type ClientLookup,
  type Clock,
  type PresentedCredentials
} from '@device-grant/core'
import { spend, validateRule, type Counter, type RateLimitRule, type Spent } from './rate-limit.js'

/**
 * RFC 6749 §2.3.1: an endpoint that checks client passwords "MUST protect [itself] against
 * brute force attacks". Failed client authentications are counted per client and per IP.
 */
export interface ClientAuthRateLimitOptions {
  /** Failed authentications of one confidential client, from anywhere. Default 10 per 10 minutes. */
  perClient?: RateLimitRule
  /** Failed client authentications from one IP, whatever the client. Default 50 per 10 minutes. */
  perIp?: RateLimitRule
}

export const DEFAULT_CLIENT_AUTH_RATE_LIMIT: Required<ClientAuthRateLimitOptions> = {
  perClient: { max: 10, window: 600 },
  perIp: { max: 50, window: 600 }
}

/** Client authentication for one request: what it presented, and where it came from. */
export type ClientAuthenticator = (presented: PresentedCredentials, ip: string) => Promise<AuthenticatedClient>

export function validateClientAuthRateLimit (value: ClientAuthRateLimitOptions | false | undefined): void {
  if (value === undefined || value === false) return
  if (value === null || typeof value !== 'object') throw new TypeError('fastify-device-grant: clientAuthRateLimit must be an object or false')
  validateRule('perClient', value.perClient, 'clientAuthRateLimit')
  validateRule('perIp', value.perIp, 'clientAuthRateLimit')
}

const BLOCKED = 'too many failed client authentications; try again later'

/**
 * `authenticateClient` with brute-force protection. Only a request that presents a secret is
 * a guess, so only those are checked and counted: public clients (most polls) cost nothing,
 * a confidential client's success costs one counter read, a failure one increment more.
 * Once a client or an IP is over its limit, the secret is not even compared: right or wrong,
 * the answer is the same `invalid_client` with `Retry-After`, so guessing on is pointless.
 */
export function clientAuthenticator (clients: ClientLookup, options: ClientAuthRateLimitOptions | false | undefined, counter: Counter, clock: Clock): ClientAuthenticator {
  if (options === false) return presented => authenticateClient(presented, clients)
  const rules = { ...DEFAULT_CLIENT_AUTH_RATE_LIMIT, ...options }

  // Not async itself: a public client's request (nearly every poll) goes straight through.
  return function authenticate (presented, ip) {
    const basic = presented.basic
    const secret = basic === undefined ? presented.clientSecret : basic.clientSecret
    if (secret === undefined) return authenticateClient(presented, clients)
    return authenticateSecret(presented, ip)
  }

  async function authenticateSecret (presented: PresentedCredentials, ip: string): Promise<AuthenticatedClient> {
    const basic = presented.basic
    const ipKey = `client-auth:ip:${ip}`
    // Per-client counts only for registered confidential clients: unknown ids have no secret
    // to guess (the IP count covers them), and never create counters of their own.
    let clientKey: string | undefined
    let blocked = false
    // authenticateClient looks the client up once, before it compares the secret: the
    // check goes there, so a blocked attempt never reaches the comparison.
    const guarded: ClientLookup = async id => {
      const client = await clients(id)
      if (client?.clientSecret !== undefined) clientKey = `client-auth:client:${id}`
      const over = refusal(await check(ipKey, clientKey, 0))
      if (over !== undefined) {
        blocked = true
        throw new OAuthError('invalid_client', BLOCKED, { basicChallenge: basic !== undefined, retryAfter: over })
      }
      return client
    }

    try {
      return await authenticateClient(presented, guarded)
    } catch (err) {
      if (blocked || !isOAuthError(err) || err.error !== 'invalid_client') throw err
      const spent = await check(ipKey, clientKey, 1)
      // The failure that uses up a budget already says when to come back.
      const exhausted = spent.filter(s => s.left <= 0)
      if (exhausted.length === 0) throw err
      throw new OAuthError('invalid_client', err.description, {
        basicChallenge: err.basicChallenge,
        retryAfter: Math.max(...exhausted.map(s => s.retryAfter)),
        cause: err
      })
    }
  }

  async function check (ipKey: string, clientKey: string | undefined, increment: number): Promise<Spent[]> {
    const now = clock()
    return await Promise.all([
      spend(counter, ipKey, rules.perIp, increment, now),
      ...(clientKey === undefined ? [] : [spend(counter, clientKey, rules.perClient, increment, now)])
    ])
  }
}

/** Seconds to wait when any count is over its limit. */
function refusal (spent: Spent[]): number | undefined {
  const over = spent.filter(s => s.blocked)
  return over.length === 0 ? undefined : Math.max(...over.map(s => s.retryAfter))
}
