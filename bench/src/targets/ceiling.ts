import { randomBytes } from 'node:crypto'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import { count, type ServerStats } from '../config.js'
import { seedInBatches } from './seed.js'

interface Entry { clientId: string, status: 'pending' | 'approved' }

const BASE20 = 'BCDFGHJKLMNPQRSTVWXZ'
const VERIFICATION_URI = 'http://127.0.0.1/device'

/**
 * The ceiling: bare Fastify + @fastify/formbody doing the least the two endpoints must do —
 * parse the form, `randomBytes(32)`, one Map set (authorize) or get (token), a JSON reply of the
 * same shape. No client check, no hashing, no expiry, no extra headers: nothing a real server
 * could skip is added here, so it is a true upper bound for the plugin.
 */
export async function ceilingServer (): Promise<FastifyInstance> {
  const grants = new Map<string, Entry>()
  const answers: Record<string, number> = {}
  const app = Fastify()
  await app.register(formbody)

  function create (clientId: string): { deviceCode: string, userCode: string } {
    const bytes = randomBytes(32)
    const deviceCode = bytes.toString('base64url')
    let userCode = ''
    for (let i = 0; i < 8; i++) userCode += BASE20[bytes[i]! % 20]
    grants.set(deviceCode, { clientId, status: 'pending' })
    return { deviceCode, userCode }
  }

  app.post('/device_authorization', async request => {
    const body = request.body as Record<string, string>
    const { deviceCode, userCode } = create(body.client_id ?? '')
    return authorizationReply(deviceCode, userCode)
  })

  app.post('/token', async (request, reply) => {
    const body = request.body as Record<string, string>
    const entry = grants.get(body.device_code ?? '')
    if (entry === undefined) {
      count(answers, 'invalid_grant')
      return reply.code(400).send({ error: 'invalid_grant' })
    }
    if (entry.status === 'approved') {
      // Flow only: the one extra Map operation a redemption needs.
      grants.delete(body.device_code ?? '')
      count(answers, 'success')
      return { access_token: randomBytes(32).toString('base64url'), token_type: 'Bearer', expires_in: 3600 }
    }
    count(answers, 'authorization_pending')
    return reply.code(400).send({ error: 'authorization_pending' })
  })

  app.post<{ Querystring: { n?: string } }>('/bench/seed', async request => {
    const deviceCodes = await seedInBatches(Number(request.query.n ?? 1000), async () => create('bench-tv').deviceCode)
    return { deviceCodes }
  })
  // Keyed by device code: the ceiling keeps no user-code index, so the load generator sends both.
  app.post<{ Querystring: { device_code?: string } }>('/bench/approve', async (request, reply) => {
    const entry = grants.get(request.query.device_code ?? '')
    if (entry === undefined) return reply.code(409).send()
    entry.status = 'approved'
    return reply.code(204).send()
  })
  app.get('/bench/stats', async (): Promise<ServerStats> => ({ answers }))
  return app
}

/** The device authorization response both bare servers send (the ceiling and the PostgreSQL baseline). */
export function authorizationReply (deviceCode: string, userCode: string): Record<string, string | number> {
  return {
    device_code: deviceCode,
    user_code: userCode,
    verification_uri: VERIFICATION_URI,
    verification_uri_complete: `${VERIFICATION_URI}?user_code=${userCode}`,
    expires_in: 600,
    interval: 5
  }
}
