import type {
  ClientRegistry,
  Clock,
  DeviceGrantStore,
  EventListener,
  IssueToken,
  UserCodeOptions
} from '@device-grant/core'
import { validateClientAuthRateLimit, type ClientAuthRateLimitOptions } from './rate-limit.js'
import { validateDpopOptions, type DpopOptions } from './dpop.js'
import { validatePagesOptions, type Authenticate, type PagesOptions } from './pages/options.js'

export interface DeviceGrantPaths {
  /** Default `/device_authorization`. */
  deviceAuthorization?: string
  /** Default `/token`. */
  token?: string
  /** The verification page (`verification_uri`). Default `/device`. */
  verification?: string
}

export interface DeviceGrantPluginOptions {
  /**
   * This authorization server's issuer (RFC 8414): an absolute `https:` URL with no query or
   * fragment (`http:` is accepted, with a warning unless the host is loopback). Endpoint URLs
   * are its origin plus the routes' paths.
   */
  issuer: string
  /** The registered clients: an array, or a lookup `(clientId) => client | undefined`. */
  clients: ClientRegistry
  /** Mints the token for an approved grant; called once per grant. */
  issueToken: IssueToken
  /**
   * Resolves the signed-in user for the verification pages, or sends the login redirect itself
   * and resolves undefined. Without it the plugin serves no pages: approve from your own UI
   * through `fastify.deviceGrant` and set `verificationUri` to it (register fails otherwise).
   */
  authenticate?: Authenticate
  /** The verification pages' settings; `false` serves none even with `authenticate`. */
  pages?: PagesOptions | false
  /** Default: a new `MemoryStore` (one process only). */
  store?: DeviceGrantStore
  /** Prefix for the plugin's routes (the metadata route stays at the host root). */
  prefix?: string
  paths?: DeviceGrantPaths
  /**
   * Absolute URL of the verification page shown to users. Required when the plugin serves no
   * pages (no `authenticate`, or `pages: false`): the URL of your own page. Default: issuer
   * origin + prefix + verification path, served by the plugin.
   */
  verificationUri?: string
  /**
   * RFC 8414 metadata at `/.well-known/oauth-authorization-server`: `true` (default), `false`
   * to leave it to the app, or extra members to merge in (they win over the defaults).
   */
  metadata?: boolean | Record<string, unknown>
  /** Seconds a code stays valid. Default 600. */
  expiresIn?: number
  /** Seconds between polls, as advertised. Default 5. */
  interval?: number
  /** Seconds early a poll may arrive before it is `slow_down`. Default 1. */
  pollLeeway?: number
  userCode?: UserCodeOptions
  /** Scope granted when neither the request nor the client names one. Default none. */
  defaultScope?: readonly string[]
  /** Audit and metrics events; a listener's error is logged, never fatal. */
  onEvent?: EventListener
  /**
   * Failed client authentications (a wrong secret) per confidential client and per IP, on both
   * OAuth endpoints (RFC 6749 §2.3.1). Default 10 per client and 50 per IP per 10 minutes;
   * `false` turns it off.
   */
  clientAuthRateLimit?: ClientAuthRateLimitOptions | false
  /**
   * DPoP (RFC 9449) at both OAuth endpoints: `true`, or its settings. Off by default: a `DPoP`
   * header is then ignored, as before. See docs/dpop.md.
   */
  dpop?: boolean | DpopOptions
  /**
   * Per-address limits (code entry, client secrets) count an IPv6 address by this prefix
   * length, since one IPv6 host usually holds a whole /64. Default 64 (e.g. 56 for ISPs that
   * hand out /56s). IPv4 and IPv4-mapped IPv6 addresses count one by one.
   */
  ipv6Prefix?: number
  /** Largest accepted form body in bytes on the OAuth endpoints. Default 16384. */
  bodyLimit?: number
  clock?: Clock
}

export const DEFAULT_IPV6_PREFIX = 64

export const DEFAULT_PATHS: Required<DeviceGrantPaths> = {
  deviceAuthorization: '/device_authorization',
  token: '/token',
  verification: '/device'
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

export interface ResolvedUrls {
  issuer: string
  /** True when the issuer is plain http on a non-loopback host (RFC 8628 §3.1 wants TLS). */
  insecure: boolean
}

/** Register-time checks with messages that say what to fix. */
export function validateOptions (options: DeviceGrantPluginOptions): ResolvedUrls {
  if (options === null || typeof options !== 'object') throw new TypeError('fastify-device-grant: options are required')
  if (typeof options.issuer !== 'string') throw new TypeError('fastify-device-grant: issuer is required (e.g. "https://auth.example.com")')
  let url: URL
  try {
    url = new URL(options.issuer)
  } catch {
    throw new TypeError(`fastify-device-grant: issuer "${options.issuer}" is not an absolute URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('fastify-device-grant: issuer must be an https URL')
  if (url.search !== '' || url.hash !== '' || options.issuer.includes('?') || options.issuer.includes('#')) {
    throw new TypeError('fastify-device-grant: issuer must have no query or fragment (RFC 8414 §2)')
  }
  if (options.clients === undefined) throw new TypeError('fastify-device-grant: clients is required (an array or a lookup function)')
  if (typeof options.issueToken !== 'function') throw new TypeError('fastify-device-grant: issueToken must be a function')
  if (options.prefix !== undefined && (typeof options.prefix !== 'string' || (options.prefix !== '' && !options.prefix.startsWith('/')))) {
    throw new TypeError('fastify-device-grant: prefix must be a path starting with "/"')
  }
  for (const [name, path] of Object.entries(options.paths ?? {})) {
    if (!(name in DEFAULT_PATHS)) throw new TypeError(`fastify-device-grant: paths.${name} is not a known path`)
    if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`fastify-device-grant: paths.${name} must start with "/"`)
  }
  if (options.verificationUri !== undefined) {
    let v: URL | undefined
    try { v = new URL(options.verificationUri) } catch {}
    if (v === undefined || (v.protocol !== 'https:' && v.protocol !== 'http:')) {
      throw new TypeError('fastify-device-grant: verificationUri must be an absolute http(s) URL')
    }
  }
  if (options.metadata !== undefined && typeof options.metadata !== 'boolean' && (options.metadata === null || typeof options.metadata !== 'object')) {
    throw new TypeError('fastify-device-grant: metadata must be a boolean or an object of extra members')
  }
  if (options.bodyLimit !== undefined && !(Number.isInteger(options.bodyLimit) && options.bodyLimit > 0)) {
    throw new TypeError('fastify-device-grant: bodyLimit must be a positive integer (bytes)')
  }
  if (options.ipv6Prefix !== undefined && !(Number.isInteger(options.ipv6Prefix) && options.ipv6Prefix >= 1 && options.ipv6Prefix <= 128)) {
    throw new TypeError('fastify-device-grant: ipv6Prefix must be an integer from 1 to 128 (e.g. 64 or 56)')
  }
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function') {
    throw new TypeError('fastify-device-grant: authenticate must be a function (request, reply) => subject | undefined')
  }
  if (options.pages !== undefined && options.pages !== false) validatePagesOptions(options.pages)
  checkVerificationPage(options)
  validateClientAuthRateLimit(options.clientAuthRateLimit)
  validateDpopOptions(options.dpop)
  const issuer = options.issuer.replace(/\/+$/, '')
  return { issuer, insecure: url.protocol === 'http:' && !LOOPBACK.has(url.hostname) }
}

/** Someone has to serve `verification_uri`: the plugin (with `authenticate`) or the app. */
function checkVerificationPage (options: DeviceGrantPluginOptions): void {
  if (options.authenticate === undefined && options.pages !== undefined && options.pages !== false) {
    throw new TypeError('fastify-device-grant: pages is set but authenticate is not, so no page would be served: ' +
      'add authenticate: (request, reply) => subject | undefined, or remove pages')
  }
  const served = options.authenticate !== undefined && options.pages !== false
  if (!served && options.verificationUri === undefined) {
    throw new TypeError('fastify-device-grant: nothing serves the verification page: add authenticate: (request, reply) => subject | undefined ' +
      'to serve the built-in pages, or verificationUri with the absolute URL of your own page')
  }
}
