import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import deviceGrant, { type DeviceClient } from 'fastify-device-grant'
import type { ExampleConfig } from './config.js'

/** The demo clients: a TV (public, as RFC 8628 §5.6 expects of devices) and a CLI with a secret. */
export const DEMO_CLIENTS: DeviceClient[] = [
  { clientId: 'demo-tv', name: 'Demo TV', scopes: ['openid', 'profile', 'read'], defaultScope: ['read'] },
  { clientId: 'demo-cli', name: 'Demo CLI', clientSecret: 'demo-cli-secret', scopes: ['read', 'write'], defaultScope: ['read'] }
]

export async function buildApp (config: ExampleConfig, logger = false): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  // Opaque demo tokens; a real app signs JWTs or stores tokens in its own database.
  const tokens = new Map<string, { subject: string, clientId: string, scope: string }>()

  // The demo routes take form bodies; the plugin's own routes parse theirs themselves.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
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
    onEvent: event => { app.log.info({ event }, 'device grant') }
  })

  app.get('/api/me', async (request, reply) => {
    const token = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1]
    const session = token === undefined ? undefined : tokens.get(token)
    if (session === undefined) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'invalid_token' })
    return session
  })

  // Demo only, until the verification pages land: approve or deny a code by hand (curl).
  // A real app approves from a page where the user is signed in.
  for (const decision of ['approve', 'deny'] as const) {
    app.post(`/demo/${decision}`, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>
      const userCode = typeof body.user_code === 'string' ? body.user_code : ''
      const subject = typeof body.subject === 'string' && body.subject !== '' ? body.subject : 'demo'
      const result = await app.deviceGrant[decision](userCode, subject)
      return result.ok
        ? { [decision === 'approve' ? 'approved' : 'denied']: result.grant.displayCode, subject }
        : reply.code(400).send({ error: result.reason })
    })
  }
  return app
}
