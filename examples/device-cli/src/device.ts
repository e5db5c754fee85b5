import {
  allowInsecureRequests,
  ClientError,
  ClientSecretBasic,
  discovery,
  fetchProtectedResource,
  getDPoPHandle,
  initiateDeviceAuthorization,
  None,
  pollDeviceAuthorizationGrant,
  randomDPoPKeyPair,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
  type Configuration,
  type DeviceAuthorizationResponse,
  type DPoPHandle
} from 'openid-client'
import { renderUnicodeCompact } from 'uqr'
import type { CliOptions } from './args.js'
import { bigText } from './banner.js'
import { bold, waiting, type Terminal } from './terminal.js'

export const EXIT = { ok: 0, error: 1, usage: 2, denied: 3, expired: 4, interrupted: 130 } as const

/** Seconds of network timeout for every request but the polls' wait. */
const REQUEST_TIMEOUT = 10

/** RFC 8414 discovery: the issuer's `/.well-known/oauth-authorization-server`, then the client. */
export async function connect (options: Pick<CliOptions, 'server' | 'clientId' | 'clientSecret'>): Promise<Configuration> {
  return await discovery(
    options.server,
    options.clientId,
    options.clientSecret,
    // A device with a secret (a CLI on a trusted machine) sends it with Basic; a public device sends only client_id.
    options.clientSecret === undefined ? None() : ClientSecretBasic(options.clientSecret),
    {
      algorithm: 'oauth2',
      timeout: REQUEST_TIMEOUT,
      // openid-client refuses plain http: by default. The demo server runs on http://127.0.0.1, so
      // allow it only when the user points us at an http: URL; https: servers stay TLS-only.
      ...(options.server.protocol === 'http:' && { execute: [allowInsecureRequests] })
    }
  )
}

/** The network failure behind `error`: a system code (ECONNREFUSED…), or a server that hung up mid-request. */
function codeOf (error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code
    // undici's word for a socket the server closed (it died, or restarted) while we were asking.
    if (code === 'UND_ERR_SOCKET') return 'connection closed'
  }
  return undefined
}

/** One line for people, not a stack trace. */
export function describe (error: unknown, server: URL): string {
  if (error instanceof ResponseBodyError) {
    return `The server refused the request: ${error.error}${error.error_description === undefined ? '' : ` (${error.error_description})`}`
  }
  const network = codeOf(error)
  if (network !== undefined) {
    return `Cannot reach ${server.href} (${network}). Is the server running? Start the example with: npx -y pnpm@10 start`
  }
  if (error instanceof ClientError) return `${error.message}${error.code === undefined ? '' : ` [${error.code}]`}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}`
  return error instanceof Error ? error.message : String(error)
}

/**
 * `describe`, after reading the body of a 401 with a challenge: openid-client throws before
 * reading it, and the OAuth error (`invalid_client`) is in there, not in a Basic challenge.
 */
export async function explain (error: unknown, server: URL): Promise<string> {
  if (error instanceof WWWAuthenticateChallengeError) {
    const body = await error.response.json().then(b => b as { error?: unknown, error_description?: unknown }, () => undefined)
    const code = typeof body?.error === 'string' ? body.error : error.cause[0]?.parameters.error
    if (code !== undefined) {
      const detail = typeof body?.error_description === 'string' ? body.error_description : error.cause[0]?.parameters.error_description
      return `The server refused the request: ${code}${detail === undefined ? '' : ` (${detail})`} [HTTP ${error.status}]`
    }
  }
  return describe(error, server)
}

function instructions (term: Terminal, auth: DeviceAuthorizationResponse, qr: boolean): void {
  const big = bigText(auth.user_code, term.columns)
  const lines = [
    '',
    'To sign in, use a browser on your phone or computer to open:',
    '',
    `  ${bold(term, auth.verification_uri)}`,
    '',
    'and enter the code:',
    '',
    ...(big === undefined ? [] : [big, '']),
    `  ${bold(term, auth.user_code)}`,
    ''
  ]
  const complete = auth.verification_uri_complete
  if (complete !== undefined) {
    if (qr) {
      lines.push('Or scan this QR code, which opens the page with the code filled in:', '', renderUnicodeCompact(complete, { border: 2 }), '')
    }
    lines.push(`(or open ${complete})`, '')
  }
  term.out(lines.join('\n') + '\n')
}

/**
 * The whole device flow: discovery, device authorization, the code on screen, polling until the
 * user decides, then one call to the API with the token. Resolves the process exit code.
 */
export async function signIn (options: CliOptions, term: Terminal, signal?: AbortSignal): Promise<number> {
  const aborted = () => signal?.aborted === true
  let config: Configuration
  let auth: DeviceAuthorizationResponse
  try {
    config = await connect(options)
    auth = await initiateDeviceAuthorization(config, options.scope === undefined ? {} : { scope: options.scope })
  } catch (error) {
    term.err(`${await explain(error, options.server)}\n`)
    return EXIT.error
  }
  if (aborted()) return EXIT.interrupted
  instructions(term, auth, options.qr)
  // RFC 9449: a key made for this run, never written anywhere. Every token request and API call
  // carries a proof signed with it, so the token is useless to whoever copies it off this machine.
  // openid-client answers the server's use_dpop_nonce by itself (one retry with the new nonce).
  const DPoP: DPoPHandle | undefined = options.dpop ? getDPoPHandle(config, await randomDPoPKeyPair('ES256')) : undefined

  const expiresAt = Date.now() + auth.expires_in * 1000
  const spinner = waiting(term, expiresAt)
  let accessToken: string
  let bound = false
  try {
    // openid-client waits `interval` before each poll and adds 5 s on slow_down (RFC 8628 §3.5).
    // Its own deadline would be expires_in; ours is a little later, so the server's
    // expired_token answer is what normally ends an unanswered code.
    const deadline = AbortSignal.timeout((auth.expires_in + Math.max(auth.interval ?? 5, 5) + 5) * 1000)
    const tokens = await pollDeviceAuthorizationGrant(config, auth, undefined, {
      signal: signal === undefined ? deadline : AbortSignal.any([signal, deadline]),
      ...(DPoP !== undefined && { DPoP })
    })
    accessToken = tokens.access_token
    // openid-client lower-cases the token type.
    bound = tokens.token_type === 'dpop'
  } catch (error) {
    spinner.stop()
    if (error instanceof ResponseBodyError && error.error === 'access_denied') {
      term.err('Access denied: the request was denied in the browser. This device is not signed in.\n')
      return EXIT.denied
    }
    if ((error instanceof ResponseBodyError && error.error === 'expired_token') ||
        (error instanceof ClientError && error.code === 'OAUTH_TIMEOUT')) {
      term.err('The code expired before anyone approved it. Run device-cli again for a new code.\n')
      return EXIT.expired
    }
    if (aborted()) {
      term.err('Cancelled. This device is not signed in.\n')
      return EXIT.interrupted
    }
    term.err(`${await explain(error, options.server)}\n`)
    return EXIT.error
  }
  spinner.stop()
  term.out(`Approved. ${bound
    ? "The access token is bound to this device's DPoP key: it is useless without the key."
    : DPoP === undefined ? 'The access token is a bearer token (DPoP is off).' : 'The server issued a bearer token: it does not bind tokens to keys (no DPoP).'}\n`)
  term.out('Calling the API with the access token…\n')

  try {
    // A bound token goes with a proof (Authorization: DPoP); an unbound one as Bearer.
    const res = await fetchProtectedResource(config, accessToken, options.api, 'GET', undefined, undefined, bound ? { DPoP } : undefined)
    if (!res.ok) throw new Error(`${options.api.href} answered ${res.status} ${res.statusText}`)
    const me = await res.json() as { subject?: unknown, clientId?: unknown, scope?: unknown }
    if (typeof me.subject !== 'string') throw new Error(`${options.api.href} did not say who is signed in`)
    const details = [typeof me.clientId === 'string' && `client ${me.clientId}`, typeof me.scope === 'string' && me.scope !== '' && `scope ${me.scope}`].filter(Boolean)
    term.out(`${bold(term, `Signed in as ${me.subject}`)}${details.length === 0 ? '' : ` (${details.join(', ')})`}\n`)
    return EXIT.ok
  } catch (error) {
    term.err(`Signed in, but the API call failed: ${await explain(error, options.api)}\n`)
    return EXIT.error
  }
}
