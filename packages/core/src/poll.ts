import { clientAllowsDeviceGrant, type DeviceClient } from './client.js'
import type { GrantContext, IssueTokenInput, TokenResponse } from './context.js'
import { SLOW_DOWN_STEP_SECONDS } from './constants.js'
import { hashDeviceCode } from './device-code.js'
import { OAuthError } from './errors.js'
import { sameScope } from './scope.js'

export interface PollInput {
  /** The client, already authenticated. */
  client: DeviceClient
  deviceCode: string
  /** RFC 9449: thumbprint of the key of the request's DPoP proof, already verified by the caller. */
  dpopJkt?: string
}

/** Every answer of the token endpoint that is not a token; each one is a 400 (RFC 6749 §5.2, RFC 8628 §3.5). */
export type PollRefusalCode = 'unauthorized_client' | 'invalid_grant' | 'expired_token' | 'access_denied' | 'slow_down' | 'authorization_pending' | 'invalid_dpop_proof'

/**
 * A poll's answer, as a value: the token, or the refusal the device is to hear. Refusals are
 * the normal answers of a poll (a device polls `authorization_pending` for minutes), so the
 * token endpoint takes them without building an Error for each one.
 */
export type PollOutcome =
  | { readonly ok: true, readonly token: TokenResponse }
  | { readonly ok: false, readonly error: PollRefusalCode, readonly description: string }

type Refusal = Extract<PollOutcome, { ok: false }>

/** No device code we mint is longer; a longer one is unknown without hashing it. */
const MAX_DEVICE_CODE_LENGTH = 256

/**
 * The refusals whose description never changes, built once (and frozen: every poll shares
 * them) so that the common answers allocate nothing.
 */
const UNAUTHORIZED = refusal('unauthorized_client', 'this client may not use the device authorization grant')
const UNKNOWN = refusal('invalid_grant', 'unknown device_code')
const EXPIRED = refusal('expired_token', 'the device_code has expired')
const USED = refusal('invalid_grant', 'the device_code has already been used')
const DENIED = refusal('access_denied', 'the user denied the request')
const PENDING = refusal('authorization_pending', 'the user has not yet approved the request')
const OTHER_KEY = refusal('invalid_dpop_proof', 'this device_code is bound to the DPoP key of the device authorization request; prove that key')

function refusal (error: PollRefusalCode, description: string): Refusal {
  return Object.freeze({ ok: false, error, description })
}

/**
 * `slow_down` refusals by interval, each built once: a device that polls too fast hears the same
 * one on every early poll, and the token endpoint caches the serialized body by its description.
 */
const slowDowns = new Map<number, Refusal>()
const MAX_CACHED_SLOW_DOWNS = 256

function slowDown (interval: number): Refusal {
  let cached = slowDowns.get(interval)
  if (cached === undefined) {
    cached = refusal('slow_down', `polling too fast; wait ${interval} seconds between requests`)
    if (slowDowns.size < MAX_CACHED_SLOW_DOWNS) slowDowns.set(interval, cached)
  }
  return cached
}

/** RFC 8628 §3.4–3.5, throwing the refusal as an `OAuthError` (the `DeviceGrant.poll` contract). */
export async function pollDeviceCode (ctx: GrantContext, input: PollInput): Promise<TokenResponse> {
  const outcome = await pollOutcome(ctx, input)
  if (outcome.ok) return outcome.token
  throw new OAuthError(outcome.error, outcome.description)
}

/**
 * RFC 8628 §3.4–3.5. One store round trip decides every answer but success; a success takes
 * one more, the atomic claim, and only its winner mints a token. Order of checks:
 * unknown or another client's code → `invalid_grant`; expired → `expired_token` (whatever the
 * state); approved → claim; consumed → `invalid_grant`; denied → `access_denied`;
 * pending and too fast → `slow_down`; pending → `authorization_pending`.
 * Store failures and errors from `issueToken` are thrown, not returned.
 */
export async function pollOutcome (ctx: GrantContext, input: PollInput): Promise<PollOutcome> {
  const { client, deviceCode } = input
  const clientId = client.clientId
  if (!clientAllowsDeviceGrant(client)) {
    return reject(ctx, clientId, UNAUTHORIZED)
  }
  if (deviceCode.length > MAX_DEVICE_CODE_LENGTH) return reject(ctx, clientId, UNKNOWN)

  const now = ctx.clock()
  const hash = hashDeviceCode(deviceCode)
  const polled = await ctx.store.recordPoll(hash, {
    clientId,
    now,
    leewayMs: ctx.pollLeewayMs,
    slowDownStep: SLOW_DOWN_STEP_SECONDS
  })
  // Another client's code is answered exactly like an unknown one: nothing about it leaks.
  if (polled === undefined || polled.grant.clientId !== clientId) return reject(ctx, clientId, UNKNOWN)
  const { grant } = polled
  if (now >= grant.expiresAt) return reject(ctx, clientId, EXPIRED)

  switch (grant.status) {
    case 'approved': {
      // Checked before the claim, so a poll with the wrong key (or none) leaves the grant as it was.
      if (ctx.dpopBinding && await provesBoundKey(ctx, hash, input.dpopJkt) === false) return reject(ctx, clientId, OTHER_KEY)
      const won = await ctx.store.claim(hash, now)
      if (won === undefined) return reject(ctx, clientId, USED)
      // A store without findByDeviceCodeHash: the key is checked here, on the claimed record, so
      // another key still gets no token (the grant is spent, though).
      if (ctx.dpopBinding && won.dpopJkt !== undefined && won.dpopJkt !== input.dpopJkt) return reject(ctx, clientId, OTHER_KEY)
      const scope = won.grantedScope ?? won.scope
      const subject = won.subject as string
      const issueInput: IssueTokenInput = { client, subject, scope, grant: won }
      if (input.dpopJkt !== undefined) issueInput.dpopJkt = input.dpopJkt
      const token = await ctx.issueToken(issueInput)
      checkToken(token)
      ctx.emit({ type: 'token.issued', clientId, subject, scope })
      // RFC 6749 §5.1: `scope` is required when it differs from the request.
      if (token.scope === undefined && !sameScope(scope, won.scope)) return { ok: true, token: { ...token, scope } }
      return { ok: true, token }
    }
    case 'consumed':
      return reject(ctx, clientId, USED)
    case 'denied':
      return reject(ctx, clientId, DENIED)
    default:
      if (polled.slowDown) return reject(ctx, clientId, slowDown(grant.interval))
      return reject(ctx, clientId, PENDING)
  }
}

/**
 * A grant bound to a DPoP key at device authorization (RFC 9449 leaves this open for the device
 * grant) is redeemed only with a proof by that key. The poll's bookkeeping returns only the
 * polled fields, so the bound key costs one read, on the approved path only (once per grant).
 * Undefined when the store cannot read a record by its hash (then the claim's record is checked).
 */
async function provesBoundKey (ctx: GrantContext, hash: string, dpopJkt: string | undefined): Promise<boolean | undefined> {
  if (ctx.store.findByDeviceCodeHash === undefined) return undefined
  const record = await ctx.store.findByDeviceCodeHash(hash)
  return record?.dpopJkt === undefined || record.dpopJkt === dpopJkt
}

function reject (ctx: GrantContext, clientId: string, outcome: Refusal): Refusal {
  ctx.emit({ type: 'poll.rejected', clientId, error: outcome.error })
  return outcome
}

function checkToken (token: TokenResponse): void {
  if (token === null || typeof token !== 'object' ||
    typeof token.access_token !== 'string' || token.access_token === '' ||
    typeof token.token_type !== 'string' || token.token_type === '') {
    throw new TypeError('issueToken must return an object with non-empty access_token and token_type strings')
  }
}
