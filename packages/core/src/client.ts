import { createHash, timingSafeEqual } from 'node:crypto'
import { DEVICE_CODE_GRANT_TYPE } from './constants.js'
import { OAuthError } from './errors.js'
import { isPromise } from './is-promise.js'

export type ClientAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post'

export interface DeviceClient {
  clientId: string
  /** Present for a confidential client; a public client (RFC 8628 §5.6) has none. */
  clientSecret?: string
  /**
   * The one method this client must use. Default: `none` without a secret; with a secret,
   * either `client_secret_basic` or `client_secret_post`.
   */
  tokenEndpointAuthMethod?: ClientAuthMethod
  /** Grant types the client may use. Default: only the device grant. */
  grantTypes?: readonly string[]
  /** Scopes the client may ask for. Default: any syntactically valid scope. */
  scopes?: readonly string[]
  /** Scope granted when the request names none. Default: none (empty scope). */
  defaultScope?: readonly string[]
  /** Shown to the user on the confirm page. Default: the client id. */
  name?: string
  /**
   * RFC 9449 §5.2 client metadata: every token request of this client must carry a DPoP proof,
   * so every token it gets is bound to its key. Default false.
   */
  dpopBoundAccessTokens?: boolean
}

export type ClientLookup = (clientId: string) => DeviceClient | undefined | Promise<DeviceClient | undefined>

/** An array of clients or a lookup function, as the `clients` option accepts. */
export type ClientRegistry = readonly DeviceClient[] | ClientLookup

export function toClientLookup (clients: ClientRegistry): ClientLookup {
  if (typeof clients === 'function') return clients
  if (!Array.isArray(clients)) throw new TypeError('clients must be an array of clients or a lookup function')
  const byId = new Map<string, DeviceClient>()
  for (const c of clients as readonly DeviceClient[]) {
    validateClient(c)
    if (byId.has(c.clientId)) throw new TypeError(`clients: "${c.clientId}" is listed twice`)
    byId.set(c.clientId, c)
  }
  return id => byId.get(id)
}

function validateClient (c: DeviceClient): void {
  if (c === null || typeof c !== 'object' || typeof c.clientId !== 'string' || c.clientId === '') {
    throw new TypeError('clients: every client needs a non-empty string clientId')
  }
  if (c.clientSecret !== undefined && (typeof c.clientSecret !== 'string' || c.clientSecret === '')) {
    throw new TypeError(`clients: "${c.clientId}" has an empty or non-string clientSecret`)
  }
  const m = c.tokenEndpointAuthMethod
  if (m !== undefined && m !== 'none' && m !== 'client_secret_basic' && m !== 'client_secret_post') {
    throw new TypeError(`clients: "${c.clientId}" has an unknown tokenEndpointAuthMethod "${String(m)}"`)
  }
  if (c.dpopBoundAccessTokens !== undefined && typeof c.dpopBoundAccessTokens !== 'boolean') {
    throw new TypeError(`clients: "${c.clientId}" has a non-boolean dpopBoundAccessTokens`)
  }
  if (m === 'none' && c.clientSecret !== undefined) {
    throw new TypeError(`clients: "${c.clientId}" has a secret but tokenEndpointAuthMethod "none"`)
  }
  if (m !== undefined && m !== 'none' && c.clientSecret === undefined) {
    throw new TypeError(`clients: "${c.clientId}" uses ${m} but has no clientSecret`)
  }
}

/** What a request presented; the framework adapter extracts it. */
export interface PresentedCredentials {
  /** Set when an `Authorization: Basic` header was sent (undefined fields: it did not decode). */
  basic?: { clientId?: string, clientSecret?: string }
  /** `client_id` from the body. */
  clientId?: string
  /** `client_secret` from the body. */
  clientSecret?: string
}

export interface AuthenticatedClient {
  client: DeviceClient
  method: ClientAuthMethod
}

/**
 * RFC 6749 §2.3.1 Basic: base64 of `urlencode(id) ":" urlencode(secret)`. The split is on the first
 * colon of the encoded form, so ids and secrets holding `:`, `%` or `+` round-trip.
 * Returns undefined fields when the header is not well formed.
 */
export function parseBasicAuthorization (header: string): { clientId?: string, clientSecret?: string } | undefined {
  const match = /^basic(?:[ \t]+(.*))?$/is.exec(header.trim())
  if (match === null) return undefined
  const token = (match[1] ?? '').trim()
  if (token === '' || token.length > 4096 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return {}
  const decoded = Buffer.from(token, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return {}
  const clientId = formDecode(decoded.slice(0, colon))
  const clientSecret = formDecode(decoded.slice(colon + 1))
  if (clientId === undefined || clientSecret === undefined || clientId === '') return {}
  return { clientId, clientSecret }
}

function formDecode (s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

function digest (s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** Compares digests, so neither length nor content leaks through timing. */
export function secretsEqual (presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected))
}

const DUMMY_SECRET = 'x'.repeat(32)

/** What a request claims before anything is looked up: which client, and how it authenticates. */
export interface ClientClaim {
  clientId: string
  method: ClientAuthMethod
  /** Present for `client_secret_basic` and `client_secret_post`. */
  secret?: string
}

/**
 * Step 1 of client authentication (RFC 6749 §2.3 / §3.2.1), the same on both endpoints: one
 * method per request, well formed. Throws what the request itself got wrong; nothing is
 * looked up, so a caller can count or limit the attempt before the secret is compared.
 */
export function readClientClaim (presented: PresentedCredentials): ClientClaim {
  const { basic } = presented
  if (basic !== undefined) {
    if (presented.clientSecret !== undefined) {
      throw new OAuthError('invalid_request', 'more than one client authentication method was used')
    }
    if (basic.clientId === undefined || basic.clientSecret === undefined) {
      throw new OAuthError('invalid_client', 'the Authorization header is malformed', { basicChallenge: true })
    }
    if (presented.clientId !== undefined && presented.clientId !== basic.clientId) {
      throw new OAuthError('invalid_request', 'client_id does not match the Authorization header')
    }
    return { clientId: basic.clientId, method: 'client_secret_basic', secret: basic.clientSecret }
  }
  if (presented.clientId === undefined) {
    throw new OAuthError('invalid_client', 'client_id is required when the client does not authenticate')
  }
  if (presented.clientSecret !== undefined) {
    return { clientId: presented.clientId, method: 'client_secret_post', secret: presented.clientSecret }
  }
  return { clientId: presented.clientId, method: 'none' }
}

/**
 * The last step: the claim against the registered client (undefined when unknown). Confidential
 * clients must authenticate, public clients identify with `client_id`. Failures via Basic are
 * 401 with a Basic challenge (§5.2); the others are 400. An unknown client's secret is still
 * compared (with a dummy), so timing does not tell registered ids apart.
 */
export function verifyClient (claim: ClientClaim, client: DeviceClient | undefined): AuthenticatedClient {
  const { method, secret } = claim
  if (secret !== undefined) {
    const ok = secretsEqual(secret, client?.clientSecret ?? DUMMY_SECRET)
    if (client === undefined || client.clientSecret === undefined || !ok || !allows(client, method)) {
      throw new OAuthError('invalid_client', 'client authentication failed', { basicChallenge: method === 'client_secret_basic' })
    }
    return { client, method }
  }
  if (client === undefined) throw new OAuthError('invalid_client', 'unknown client')
  if (client.clientSecret !== undefined) {
    throw new OAuthError('invalid_client', 'this client must authenticate')
  }
  return { client, method: 'none' }
}

/** Every step in sequence: read the claim, look the client up, verify. */
export async function authenticateClient (presented: PresentedCredentials, lookup: ClientLookup): Promise<AuthenticatedClient> {
  const claim = readClientClaim(presented)
  const found = lookup(claim.clientId)
  // An array of clients answers synchronously: no extra turn of the microtask queue per request.
  return verifyClient(claim, isPromise(found) ? await found : found)
}

function allows (client: DeviceClient, method: ClientAuthMethod): boolean {
  return client.tokenEndpointAuthMethod === undefined || client.tokenEndpointAuthMethod === method
}

export function clientAllowsDeviceGrant (client: DeviceClient): boolean {
  return client.grantTypes === undefined || client.grantTypes.includes(DEVICE_CODE_GRANT_TYPE)
}
