import { clientAllowsDeviceGrant, type DeviceClient } from './client.js'
import type { GrantContext, TokenResponse } from './context.js'
import { SLOW_DOWN_STEP_SECONDS } from './constants.js'
import { hashDeviceCode } from './device-code.js'
import { OAuthError, type OAuthErrorCode } from './errors.js'
import { sameScope } from './scope.js'

export interface PollInput {
  /** The client, already authenticated. */
  client: DeviceClient
  deviceCode: string
}

/** No device code we mint is longer; a longer one is unknown without hashing it. */
const MAX_DEVICE_CODE_LENGTH = 256

/**
 * RFC 8628 §3.4–3.5. One store round trip decides every answer but success; a success takes
 * one more, the atomic claim, and only its winner mints a token. Order of checks:
 * unknown or another client's code → `invalid_grant`; expired → `expired_token` (whatever the
 * state); approved → claim; consumed → `invalid_grant`; denied → `access_denied`;
 * pending and too fast → `slow_down`; pending → `authorization_pending`.
 */
export async function pollDeviceCode (ctx: GrantContext, input: PollInput): Promise<TokenResponse> {
  const { client, deviceCode } = input
  const clientId = client.clientId
  if (!clientAllowsDeviceGrant(client)) {
    throw reject(ctx, clientId, 'unauthorized_client', 'this client may not use the device authorization grant')
  }
  if (deviceCode.length > MAX_DEVICE_CODE_LENGTH) throw reject(ctx, clientId, 'invalid_grant', 'unknown device_code')

  const now = ctx.clock()
  const hash = hashDeviceCode(deviceCode)
  const polled = await ctx.store.recordPoll(hash, {
    clientId,
    now,
    leewayMs: ctx.pollLeewayMs,
    slowDownStep: SLOW_DOWN_STEP_SECONDS
  })
  // Another client's code is answered exactly like an unknown one: nothing about it leaks.
  if (polled === undefined || polled.grant.clientId !== clientId) throw reject(ctx, clientId, 'invalid_grant', 'unknown device_code')
  const { grant } = polled
  if (now >= grant.expiresAt) throw reject(ctx, clientId, 'expired_token', 'the device_code has expired')

  switch (grant.status) {
    case 'approved': {
      const won = await ctx.store.claim(hash, now)
      if (won === undefined) throw reject(ctx, clientId, 'invalid_grant', 'the device_code has already been used')
      const scope = won.grantedScope ?? won.scope
      const subject = won.subject as string
      const token = await ctx.issueToken({ client, subject, scope, grant: won })
      checkToken(token)
      ctx.emit({ type: 'token.issued', clientId, subject, scope })
      // RFC 6749 §5.1: `scope` is required when it differs from the request.
      if (token.scope === undefined && !sameScope(scope, won.scope)) return { ...token, scope }
      return token
    }
    case 'consumed':
      throw reject(ctx, clientId, 'invalid_grant', 'the device_code has already been used')
    case 'denied':
      throw reject(ctx, clientId, 'access_denied', 'the user denied the request')
    default:
      if (polled.slowDown) throw reject(ctx, clientId, 'slow_down', `polling too fast; wait ${grant.interval} seconds between requests`)
      throw reject(ctx, clientId, 'authorization_pending', 'the user has not yet approved the request')
  }
}

function reject (ctx: GrantContext, clientId: string, error: OAuthErrorCode, description: string): OAuthError {
  ctx.emit({ type: 'poll.rejected', clientId, error })
  return new OAuthError(error, description)
}

function checkToken (token: TokenResponse): void {
  if (token === null || typeof token !== 'object' ||
    typeof token.access_token !== 'string' || token.access_token === '' ||
    typeof token.token_type !== 'string' || token.token_type === '') {
    throw new TypeError('issueToken must return an object with non-empty access_token and token_type strings')
  }
}
