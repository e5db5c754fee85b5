import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import deviceGrant, { type DeviceClient, type DeviceGrantStore } from 'fastify-device-grant'
import { CLIENT_ID, SUBJECT, count, type ServerEnv, type ServerStats, type StoreKind } from '../config.js'
import { openStore } from '../stores.js'
import { seedInBatches } from './seed.js'

const client: DeviceClient = { clientId: CLIENT_ID, name: 'Bench TV' }

/**
 * fastify-device-grant with its defaults (no logger, as `Fastify()` gives), on one of the
 * stores. Plus bench-only routes under /bench: seed pending grants, approve by user
 * code (what a verification page does), and read the counters.
 */
export async function pluginServer (kind: StoreKind, env: ServerEnv, wrap?: (store: DeviceGrantStore) => DeviceGrantStore): Promise<FastifyInstance> {
  const opened = await openStore(kind, env)
  const { sql, redis, close } = opened
  const store = wrap === undefined ? opened.store : wrap(opened.store)
  const answers: Record<string, number> = {}
  let created = 0
  const app = Fastify()
  app.addHook('onClose', close)
  await app.register(deviceGrant, {
    issuer: 'http://127.0.0.1',
    clients: [client],
    store,
    ...(env.dpop === true && { dpop: true }),
    verificationUri: 'http://127.0.0.1/device',
    issueToken: () => ({ access_token: randomBytes(32).toString('base64url'), token_type: 'Bearer', expires_in: 3600 }),
    // The token endpoint's answers, counted where they are decided.
    onEvent: event => {
      if (event.type === 'poll.rejected') count(answers, event.error)
      else if (event.type === 'token.issued') count(answers, 'success')
      else if (event.type === 'authorization.created') created++
    }
  })

  const { grant, endpoints } = app.deviceGrant
  app.post<{ Querystring: { n?: string } }>('/bench/seed', async request => {
    const n = Number(request.query.n ?? 1000)
    const deviceCodes = await seedInBatches(n, async () => {
      const r = await grant.authorize({ client, verificationUri: endpoints.verification, ip: '127.0.0.1', userAgent: 'bench-seed' })
      return r.device_code
    })
    return { deviceCodes }
  })
  app.post<{ Querystring: { user_code?: string } }>('/bench/approve', async (request, reply) => {
    const result = await app.deviceGrant.approve(request.query.user_code ?? '', SUBJECT)
    return reply.code(result.ok ? 204 : 409).send()
  })
  app.get('/bench/stats', async (): Promise<ServerStats> => ({
    answers,
    created,
    ...(sql !== undefined && { sql: sql() }),
    ...(redis !== undefined && { redis: redis() })
  }))
  return app
}
