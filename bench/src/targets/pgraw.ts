import { createHash, randomBytes } from 'node:crypto'
import formbody from '@fastify/formbody'
import Fastify, { type FastifyInstance } from 'fastify'
import pg from 'pg'
import { buildStatements } from '@device-grant/store-postgres/sql'
import { CLIENT_ID, SUBJECT, count, type ServerEnv, type ServerStats } from '../config.js'
import { authorizationReply } from './ceiling.js'
import { seedInBatches } from './seed.js'

const BASE20 = 'BCDFGHJKLMNPQRSTVWXZ'
const LIFETIME_MS = 600_000

/**
 * The PostgreSQL baseline: bare Fastify + @fastify/formbody sending the store's own statements
 * (`@device-grant/store-postgres/sql`, named, the poll with its asynchronous commit) straight
 * through a node-postgres pool of the same size, with the least work around them: no client
 * check, no expiry or slow_down logic in JavaScript, no events, no extra headers. What
 * store-postgres adds over this is the store and the plugin; what this adds over the ceiling is
 * PostgreSQL.
 */
export async function pgRawServer (env: ServerEnv): Promise<FastifyInstance> {
  if (env.databaseUrl === undefined || env.pgSchema === undefined) throw new Error('BENCH_DATABASE_URL and BENCH_PG_SCHEMA are required for the pgraw target')
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: env.pgPool ?? 20, application_name: 'device_grant_bench' })
  let statements = 0
  let created = 0
  const sql = buildStatements(`${env.pgSchema}.device_grant`, { asyncPollCommit: true })
  const run = async (statement: { name: string, text: string }, values: unknown[]): Promise<pg.QueryResult> => {
    statements++
    return await pool.query({ name: statement.name, text: statement.text, values })
  }
  await pool.query(`TRUNCATE "${env.pgSchema}".device_grant`)
  const answers: Record<string, number> = {}
  const app = Fastify()
  app.addHook('onClose', async () => { await pool.end() })
  await app.register(formbody)

  async function create (clientId: string): Promise<{ deviceCode: string, userCode: string }> {
    const bytes = randomBytes(32)
    const deviceCode = bytes.toString('base64url')
    let userCode = ''
    for (let i = 0; i < 8; i++) userCode += BASE20[bytes[i]! % 20]
    const now = Date.now()
    const hash = createHash('sha256').update(deviceCode).digest('base64url')
    await run(sql.save, [hash, userCode, clientId, '', 'pending', now, now + LIFETIME_MS, 5, null, null, null, null, '127.0.0.1', 'bench', null])
    return { deviceCode, userCode }
  }

  app.post('/device_authorization', async request => {
    const body = request.body as Record<string, string>
    const { deviceCode, userCode } = await create(body.client_id ?? '')
    created++
    return authorizationReply(deviceCode, userCode)
  })

  app.post('/token', async (request, reply) => {
    const body = request.body as Record<string, string>
    const hash = createHash('sha256').update(body.device_code ?? '').digest('base64url')
    const now = Date.now()
    const { rows } = await run(sql.recordPoll, [hash, body.client_id ?? '', now, 1000, 5])
    const row = rows[0] as { status: string, slowDown: boolean } | undefined
    let error = row === undefined ? 'invalid_grant' : row.slowDown ? 'slow_down' : 'authorization_pending'
    if (row?.status === 'approved') {
      const claimed = await run(sql.claim, [hash, now])
      if (claimed.rowCount === 1) {
        count(answers, 'success')
        return { access_token: randomBytes(32).toString('base64url'), token_type: 'Bearer', expires_in: 3600 }
      }
      error = 'invalid_grant'
    }
    count(answers, error)
    return reply.code(400).send({ error })
  })

  app.post<{ Querystring: { n?: string } }>('/bench/seed', async request => {
    const deviceCodes = await seedInBatches(Number(request.query.n ?? 1000), async () => (await create(CLIENT_ID)).deviceCode)
    return { deviceCodes }
  })
  // What the plugin's approve does: find the grant by user code, then the guarded update.
  app.post<{ Querystring: { user_code?: string } }>('/bench/approve', async (request, reply) => {
    const { rows } = await run(sql.findByUserCode, [request.query.user_code ?? ''])
    const hash = (rows[0] as { deviceCodeHash: string } | undefined)?.deviceCodeHash
    const approved = hash !== undefined && (await run(sql.approve, [hash, SUBJECT, Date.now(), null])).rowCount === 1
    return reply.code(approved ? 204 : 409).send()
  })
  app.get('/bench/stats', async (): Promise<ServerStats> => ({ answers, created, sql: statements }))
  return app
}
