import { createDeviceGrant, toClientLookup, type ApproveOptions, type Clock, type DecisionOptions, type DeviceGrant, type DeviceGrantStore, type DecisionResult, type GrantView } from '@device-grant/core'
import { MemoryStore } from '@device-grant/store-memory'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { clientAuthenticator } from './client-auth.js'
import { deviceAuthorizationHandler } from './device-authorization.js'
import { createDpopSupport, type DpopSupport } from './dpop.js'
import { parseForm } from './form.js'
import { buildMetadata, metadataPath } from './metadata.js'
import { replyWithError, sendOAuthError } from './oauth-reply.js'
import { DEFAULT_IPV6_PREFIX, DEFAULT_PATHS, validateOptions, type DeviceGrantPluginOptions } from './options.js'
import { registerPages } from './pages/register.js'
import { ClientAuthLimits, type LimitsContext } from './limits.js'
import { counterFor } from './rate-limit.js'
import { tokenHandler, type TokenHandler } from './token.js'
import { OAuthError } from '@device-grant/core'

export interface DeviceGrantEndpoints {
  issuer: string
  deviceAuthorization: string
  token: string
  verification: string
  /** Absent when metadata is off. */
  metadata?: string
}

/** `fastify.deviceGrant`: the grant for programmatic use (approval from your own UI, tests, admin tools). */
export interface DeviceGrantDecorator {
  /** The framework-free grant from `@device-grant/core`. */
  readonly grant: DeviceGrant
  readonly endpoints: DeviceGrantEndpoints
  /** RFC 8414 metadata, as served. */
  readonly metadata: Record<string, unknown>
  /** Finds a grant by what a person typed (any case, spaces, dashes). */
  lookup(userCode: string): Promise<GrantView | undefined>
  /** Binds a pending grant to the first user who opens it. */
  bind(userCode: string, subject: string): Promise<DecisionResult>
  /**
   * Approves as `subject`. `grantedScope` (an array, like `scopes`; a string works too) may narrow
   * what was asked; `sameNetwork`, when your page compared the networks, goes into the
   * `grant.approved` event.
   */
  approve(userCode: string, subject: string, options?: ApproveOptions): Promise<DecisionResult>
  deny(userCode: string, subject: string, options?: DecisionOptions): Promise<DecisionResult>
  /** The device_code token handler, to mount in an existing OAuth server's token route. */
  readonly tokenHandler: TokenHandler
}

declare module 'fastify' {
  interface FastifyInstance {
    deviceGrant: DeviceGrantDecorator
  }
}

const DEFAULT_BODY_LIMIT = 16384

async function deviceGrantPlugin (fastify: FastifyInstance, options: DeviceGrantPluginOptions): Promise<void> {
  const { issuer, insecure } = validateOptions(options)
  if (insecure) {
    fastify.log.warn(`fastify-device-grant: issuer ${issuer} is plain http; RFC 8628 §3.1 requires TLS outside development`)
  }
  const store = options.store ?? new MemoryStore()
  if (options.store === undefined) fastify.addHook('onClose', async () => { await store.close?.() })
  const clients = toClientLookup(options.clients)
  const grant = createGrant(fastify, options, store)
  const dpop = createDpopSupport(options.dpop, store, grant.clock, fastify.log)
  const { endpoints, metadata, routePrefix, paths, origin } = describeEndpoints(fastify, options, issuer, dpop)
  const limits = limitsContext(fastify, options, store, grant.clock)
  const clientLimits = options.clientAuthRateLimit === false ? undefined : new ClientAuthLimits(limits, options.clientAuthRateLimit ?? {})
  const authenticateRequest = clientAuthenticator(clients, clientLimits)
  const handleToken = tokenHandler(grant, authenticateRequest, dpop, origin)

  fastify.decorate('deviceGrant', {
    grant,
    endpoints,
    metadata,
    lookup: userCode => grant.lookup(userCode),
    bind: (userCode, subject) => grant.bind(userCode, subject),
    approve: (userCode, subject, opts) => grant.approve(userCode, subject, opts),
    deny: (userCode, subject, opts) => grant.deny(userCode, subject, opts),
    tokenHandler: handleToken
  } satisfies DeviceGrantDecorator)

  if (endpoints.metadata !== undefined) {
    const body = JSON.stringify(metadata)
    fastify.get(metadataPath(issuer), async (_request, reply) => {
      return reply.header('content-type', 'application/json; charset=utf-8').send(body)
    })
  }

  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT
  // Routes live in a plain (encapsulated) child: `prefix` applies, and the form-only body
  // parser and the OAuth error handler stay out of the app's own routes.
  await fastify.register(async function deviceGrantEndpoints (instance) {
    instance.removeAllContentTypeParsers()
    instance.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, (_request, body, done) => {
      done(null, parseForm(body as string))
    })
    instance.setErrorHandler((err, request, reply) => replyWithError(request, reply, err))
    instance.post(paths.deviceAuthorization, { bodyLimit }, deviceAuthorizationHandler(grant, authenticateRequest, endpoints.verification, dpop, origin))
    instance.post(paths.token, { bodyLimit }, handleToken)
    // RFC 8628 §3.1 and RFC 6749 §3.2: POST only; say so in OAuth's own words.
    for (const url of [paths.deviceAuthorization, paths.token]) {
      instance.route({ method: ['GET', 'PUT', 'PATCH', 'DELETE'], url, handler: methodNotAllowed })
    }
  }, { prefix: options.prefix ?? '' })

  const { authenticate, pages } = options
  if (authenticate !== undefined && pages !== false) {
    await fastify.register(async function deviceGrantPages (instance) {
      const secure = issuer.startsWith('https:')
      await registerPages(instance, { grant, clients, authenticate, action: routePrefix + paths.verification, options: pages ?? {}, secure, limits })
    }, { prefix: `${options.prefix ?? ''}${paths.verification}` })
  }
}

function createGrant (fastify: FastifyInstance, options: DeviceGrantPluginOptions, store: DeviceGrantStore): DeviceGrant {
  return createDeviceGrant({
    store,
    issueToken: options.issueToken,
    ...(options.expiresIn !== undefined && { expiresIn: options.expiresIn }),
    ...(options.interval !== undefined && { interval: options.interval }),
    ...(options.pollLeeway !== undefined && { pollLeeway: options.pollLeeway }),
    ...(options.userCode !== undefined && { userCode: options.userCode }),
    ...(options.defaultScope !== undefined && { defaultScope: options.defaultScope }),
    ...(options.onEvent !== undefined && { onEvent: options.onEvent }),
    ...(options.clock !== undefined && { clock: options.clock }),
    // Without DPoP no device code is ever bound: the approved poll skips the bound-key read.
    dpopBinding: options.dpop !== undefined && options.dpop !== false,
    onEventError: err => fastify.log.error({ err }, 'fastify-device-grant: onEvent listener failed')
  })
}

/** The absolute URLs the plugin advertises, and its RFC 8414 metadata. */
function describeEndpoints (fastify: FastifyInstance, options: DeviceGrantPluginOptions, issuer: string, dpop: DpopSupport | undefined) {
  const paths = { ...DEFAULT_PATHS, ...options.paths }
  // The plugin runs in its parent's context (fastify-plugin), so `fastify.prefix` is the parent's.
  const routePrefix = `${fastify.prefix}${options.prefix ?? ''}`.replace(/\/+$/, '')
  const origin = new URL(issuer).origin
  const endpoints: DeviceGrantEndpoints = {
    issuer,
    deviceAuthorization: origin + routePrefix + paths.deviceAuthorization,
    token: origin + routePrefix + paths.token,
    verification: options.verificationUri ?? origin + routePrefix + paths.verification
  }
  if (options.metadata !== false) endpoints.metadata = origin + metadataPath(issuer)
  const metadata = buildMetadata({
    issuer,
    deviceAuthorizationEndpoint: endpoints.deviceAuthorization,
    tokenEndpoint: endpoints.token,
    ...(dpop !== undefined && { dpopAlgorithms: dpop.algorithms }),
    extra: typeof options.metadata === 'object' ? options.metadata : {}
  })
  return { endpoints, metadata, routePrefix, paths, origin }
}

/** Where every limit counts: in the store when it can (limits then hold across instances). */
function limitsContext (fastify: FastifyInstance, options: DeviceGrantPluginOptions, store: DeviceGrantStore, clock: Clock): LimitsContext {
  const { counter, close } = counterFor(store)
  fastify.addHook('onClose', close)
  warnOfLocalCounts(fastify, options)
  return {
    counter,
    clock,
    ipv6Prefix: options.ipv6Prefix ?? DEFAULT_IPV6_PREFIX,
    onRefundError: err => fastify.log.warn({ err }, 'fastify-device-grant: a rate-limit refund failed; the attempt stays counted (does the store\'s hit() accept negative increments?)')
  }
}

/** Limits counted in each process are limits multiplied by the number of processes: say so. */
function warnOfLocalCounts (fastify: FastifyInstance, options: DeviceGrantPluginOptions): void {
  const store = options.store
  if (store?.capabilities?.sharedAcrossProcesses !== true || typeof store.hit === 'function') return
  const pagesLimited = options.authenticate !== undefined && options.pages !== false && options.pages?.rateLimit !== false
  if (!pagesLimited && options.clientAuthRateLimit === false) return
  fastify.log.warn('fastify-device-grant: the store is shared across processes but has no hit(), so rate limits count in each ' +
    'process on its own (every instance allows the whole budget); use a store that implements hit() (e.g. @device-grant/store-redis)')
}

async function methodNotAllowed (_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  reply.header('allow', 'POST')
  return sendOAuthError(reply, new OAuthError('invalid_request', 'this endpoint accepts POST only', { statusCode: 405 }))
}

export const deviceGrant = fp(deviceGrantPlugin, {
  name: 'fastify-device-grant',
  fastify: '5.x'
})
