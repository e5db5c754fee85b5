import { createHmac } from 'node:crypto'
import { InMemoryReplayCache } from '@device-grant/dpop'
import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import deviceGrant, { type DeviceClient } from 'fastify-device-grant'
import type { ExampleConfig } from './config.js'
import { loginRoutes, sessionUser } from './login.js'
import { createStore } from './store.js'
import { accessTokens } from './tokens.js'

/**
 * The demo clients: a TV (public, as RFC 8628 §5.6 expects of devices), a CLI with a secret, and
 * one whose secret has the characters Basic authentication must form-encode (RFC 6749 §2.3.1).
 */
export const DEMO_CLIENTS: DeviceClient[] = [
  { clientId: 'demo-tv', name: 'Demo TV', scopes: ['openid', 'profile', 'read'], defaultScope: ['read'] },
  { clientId: 'demo-cli', name: 'Demo CLI', clientSecret: 'demo-cli-secret', scopes: ['read', 'write'], defaultScope: ['read'] },
  { clientId: 'demo-cli-awkward', name: 'Demo CLI (awkward secret)', clientSecret: 's3cr+t/with=odd:chars', scopes: ['read', 'write'], defaultScope: ['read'] },
  // RFC 9449 §5.2: this one gets no token without a DPoP proof, so its tokens are always bound.
  { clientId: 'demo-tv-dpop', name: 'Demo TV (DPoP only)', dpopBoundAccessTokens: true, scopes: ['openid', 'profile', 'read'], defaultScope: ['read'] }
]

/** Where the logs go: nowhere (tests), stdout, or a stream of JSON lines. */
export type ExampleLogger = boolean | { stream: { write: (line: string) => void } }

export async function buildApp (config: ExampleConfig, logger: ExampleLogger = false): Promise<FastifyInstance> {
  const app = Fastify({
    logger: logger === false ? false : { level: config.logLevel, ...(logger !== true && { stream: logger.stream }) },
    // Polling devices make a request every few seconds each: at `info` that drowns everything
    // else and costs a third of the throughput, so requests are logged at `debug` (below).
    disableRequestLogging: true
  })
  if (logger !== false) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.debug({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
    })
  }
  await app.register(cookie, { secret: config.sessionSecret })
  await app.register(formbody)
  await app.register(csrf, { cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', path: '/' } })
  await app.register(loginRoutes)
  app.get('/', async (_request, reply) => reply.redirect('/device'))
  // Grants live where DEVICE_GRANT_STORE says (src/store.ts); a store passed in is ours to close.
  const { store, close: closeStore } = await createStore(config.store, app.log)
  app.addHook('onClose', closeStore)
  // Signed JWT access tokens, and GET /api/me that checks them (src/tokens.ts); the API remembers
  // DPoP proofs in the grant store when it can, so a proof replayed at another instance fails too.
  const replay = typeof store.useOnce === 'function' ? { useOnce: store.useOnce.bind(store) } : new InMemoryReplayCache()
  const issueToken = await accessTokens(app, { issuer: config.issuer, secret: config.jwtSecret, replay })
  await app.register(deviceGrant, {
    store,
    issuer: config.issuer,
    clients: DEMO_CLIENTS,
    ...(config.expiresIn !== undefined && { expiresIn: config.expiresIn }),
    ...(config.interval !== undefined && { interval: config.interval }),
    issueToken,
    // DPoP (RFC 9449): a device that proves a key gets a token bound to it. Server nonces when
    // DEVICE_GRANT_DPOP_NONCES=1, keyed from SESSION_SECRET so every instance accepts them.
    dpop: config.dpopNonces === true ? { nonce: { secret: createHmac('sha256', config.sessionSecret).update('dpop-nonce').digest() } } : true,
    // The verification pages ask the app who is signed in; signed-out users go to the demo login
    // and come back to the same page afterwards.
    authenticate: (request, reply) => {
      const user = sessionUser(request)
      if (user === undefined) reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`)
      return user
    },
    pages: {
      csrfSecret: config.sessionSecret,
      scopeDescriptions: { openid: 'Know who you are', profile: 'See your name', read: 'Read your data', write: 'Change your data' }
    },
    // Audit events at `info`; a refused poll (authorization_pending, slow_down...) is routine.
    onEvent: event => {
      if (event.type === 'poll.rejected') app.log.debug({ event }, 'device grant')
      else app.log.info({ event }, 'device grant')
    }
  })

  return app
}
