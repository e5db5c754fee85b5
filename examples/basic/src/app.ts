import { randomBytes } from 'node:crypto'
import cookie from '@fastify/cookie'
import csrf from '@fastify/csrf-protection'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import deviceGrant, { type DeviceClient } from 'fastify-device-grant'
import type { ExampleConfig } from './config.js'
import { loginRoutes, sessionUser } from './login.js'

/** The demo clients: a TV (public, as RFC 8628 §5.6 expects of devices) and a CLI with a secret. */
export const DEMO_CLIENTS: DeviceClient[] = [
  { clientId: 'demo-tv', name: 'Demo TV', scopes: ['openid', 'profile', 'read'], defaultScope: ['read'] },
  { clientId: 'demo-cli', name: 'Demo CLI', clientSecret: 'demo-cli-secret', scopes: ['read', 'write'], defaultScope: ['read'] }
]

export async function buildApp (config: ExampleConfig, logger = false): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  // Opaque demo tokens; a real app signs JWTs or stores tokens in its own database.
  const tokens = new Map<string, { subject: string, clientId: string, scope: string }>()

  await app.register(cookie, { secret: config.sessionSecret })
  await app.register(formbody)
  await app.register(csrf, { cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', path: '/' } })
  await app.register(loginRoutes)
  app.get('/', async (_request, reply) => reply.redirect('/device'))
  await app.register(deviceGrant, {
    issuer: config.issuer,
    clients: DEMO_CLIENTS,
    ...(config.expiresIn !== undefined && { expiresIn: config.expiresIn }),
    ...(config.interval !== undefined && { interval: config.interval }),
    issueToken: ({ subject, client, scope }) => {
      const accessToken = randomBytes(32).toString('base64url')
      tokens.set(accessToken, { subject, clientId: client.clientId, scope })
      return { access_token: accessToken, token_type: 'Bearer', expires_in: 3600, scope }
    },
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
    onEvent: event => { app.log.info({ event }, 'device grant') }
  })

  app.get('/api/me', async (request, reply) => {
    const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1]
    const session = token === undefined ? undefined : tokens.get(token)
    if (session === undefined) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'invalid_token' })
    return session
  })

  return app
}
