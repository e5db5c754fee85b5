import { clientAllowsDeviceGrant, type DeviceClient } from './client.js'
import type { GrantContext } from './context.js'
import { generateDeviceCode, hashDeviceCode } from './device-code.js'
import { OAuthError } from './errors.js'
import { formatScope, parseScope } from './scope.js'
import type { DeviceGrantRecord } from './store.js'

export interface AuthorizeInput {
  /** The client, already authenticated. */
  client: DeviceClient
  /** The `scope` parameter, if any (empty counts as absent). */
  scope?: string
  /** Absolute URL of the verification page. */
  verificationUri: string
  ip?: string
  userAgent?: string
  /**
   * RFC 9449 JWK thumbprint of the DPoP key the request proved (the caller verified the proof):
   * only a token request proving the same key redeems the device code.
   */
  dpopJkt?: string
}

/** RFC 8628 §3.2. */
export interface DeviceAuthorizationResponse {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

/** Collisions are rare (2^34 codes); a few retries make a failure practically impossible. */
const MAX_SAVE_ATTEMPTS = 5
const MAX_DEVICE_INFO_LENGTH = 512

export async function authorizeDevice (ctx: GrantContext, input: AuthorizeInput): Promise<DeviceAuthorizationResponse> {
  const { client } = input
  if (!clientAllowsDeviceGrant(client)) {
    throw new OAuthError('unauthorized_client', 'this client may not use the device authorization grant')
  }
  const scope = resolveScope(ctx, client, input.scope)
  if (input.dpopJkt !== undefined && !ctx.dpopBinding) throw new TypeError('authorize: dpopJkt was given but this grant was created with dpopBinding: false')

  const deviceCode = generateDeviceCode()
  const deviceCodeHash = hashDeviceCode(deviceCode)
  const createdAt = ctx.clock()
  const expiresAt = createdAt + ctx.expiresIn * 1000
  const ip = input.ip?.slice(0, MAX_DEVICE_INFO_LENGTH)
  const userAgent = input.userAgent?.slice(0, MAX_DEVICE_INFO_LENGTH)

  for (let attempt = 0; attempt < MAX_SAVE_ATTEMPTS; attempt++) {
    // A fresh record per attempt: nothing a store was given changes after its call.
    const record: DeviceGrantRecord = {
      deviceCodeHash,
      userCode: ctx.userCodes.generate(),
      clientId: client.clientId,
      scope,
      status: 'pending',
      createdAt,
      expiresAt,
      interval: ctx.interval
    }
    if (ip !== undefined) record.ip = ip
    if (userAgent !== undefined) record.userAgent = userAgent
    if (input.dpopJkt !== undefined) record.dpopJkt = input.dpopJkt
    if (await ctx.store.save(record)) {
      const userCode = ctx.userCodes.format(record.userCode)
      ctx.emit({ type: 'authorization.created', clientId: client.clientId, userCode, scope, expiresAt })
      return {
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: input.verificationUri,
        verification_uri_complete: `${input.verificationUri}${input.verificationUri.includes('?') ? '&' : '?'}user_code=${encodeURIComponent(userCode)}`,
        expires_in: ctx.expiresIn,
        interval: ctx.interval
      }
    }
  }
  throw new OAuthError('temporarily_unavailable', 'could not allocate a unique user code; try again', { retryAfter: 1 })
}

/**
 * RFC 6749 §3.3: no scope means the client's default (or the server's); a scope outside what
 * the client may ask for is `invalid_scope`.
 */
function resolveScope (ctx: GrantContext, client: DeviceClient, requested: string | undefined): string {
  const tokens = parseScope(requested)
  if (tokens.length === 0) return formatScope(client.defaultScope ?? ctx.defaultScope)
  if (client.scopes !== undefined) {
    const allowed = new Set(client.scopes)
    const refused = tokens.filter(t => !allowed.has(t))
    if (refused.length > 0) throw new OAuthError('invalid_scope', `scope not allowed for this client: ${refused.join(' ')}`)
  }
  return formatScope(tokens)
}
