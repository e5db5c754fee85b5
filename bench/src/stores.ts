import type { DeviceGrantStore } from '@device-grant/core'
import type { ServerEnv, StoreKind } from './config.js'

export interface BenchStore {
  store: DeviceGrantStore
  /** SQL statements sent on the wire so far (Prisma only). */
  sql?: () => number
  /** Commands the Redis client has sent so far: one request/response, one round trip, each. */
  redis?: () => number
  close: () => Promise<void>
}

/**
 * The stores as their READMEs tell users to set them up. Each store's stack is imported only
 * when it is used, so a server's RSS holds only what it runs.
 */
export async function openStore (kind: StoreKind, env: ServerEnv): Promise<BenchStore> {
  if (kind === 'memory') {
    const { MemoryStore } = await import('@device-grant/store-memory')
    const store = new MemoryStore()
    return { store, close: async () => { await store.close() } }
  }
  if (kind === 'redis') {
    if (env.redisUrl === undefined) throw new Error('BENCH_REDIS_URL is required for the redis target')
    const { Redis } = await import('ioredis')
    // A/B work: another build of the store (BENCH_REDIS_STORE, a path to its index.js), and
    // ioredis's auto-pipelining in place of the store's own write coalescing.
    const { RedisStore } = await import(process.env.BENCH_REDIS_STORE ?? '@device-grant/store-redis') as typeof import('@device-grant/store-redis')
    const autoPipelining = process.env.BENCH_REDIS_AUTOPIPELINING === '1'
    const redis = new Redis(env.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 1000,
      lazyConnect: true,
      enableAutoPipelining: autoPipelining
    })
    await redis.connect()
    // Every command ioredis sends goes through sendCommand (scripts included, and the EVAL
    // fallback after a NOSCRIPT): counting here counts round trips. INFO commandstats would
    // also count the commands the Lua scripts run inside Redis.
    let commands = 0
    const send = redis.sendCommand.bind(redis)
    redis.sendCommand = ((...args: Parameters<typeof send>) => {
      commands++
      return send(...args)
    }) as typeof redis.sendCommand
    const store = new RedisStore({ client: redis, keyPrefix: env.redisPrefix ?? 'bench:', coalesceWrites: !autoPipelining })
    return { store, redis: () => commands, close: async () => { await redis.quit() } }
  }
  if (env.databaseUrl === undefined || env.pgSchema === undefined) throw new Error(`BENCH_DATABASE_URL and BENCH_PG_SCHEMA are required for the ${kind} target`)
  if (kind === 'postgres' || kind === 'pgsingle') return await openPostgres(env.databaseUrl, env.pgSchema, env.pgPool ?? 20, kind === 'postgres')
  const { default: pg } = await import('pg')
  const { PrismaPg } = await import('@prisma/adapter-pg')
  const { prismaStore } = await import('@device-grant/store-prisma')
  const { PrismaClient } = await import('../generated/client/client.js')
  const pool = new pg.Pool({
    connectionString: env.databaseUrl,
    max: 10,
    connectionTimeoutMillis: 5000,
    query_timeout: 10_000,
    application_name: 'device_grant_bench'
  })
  // Every statement Prisma sends goes through pool.query (no transactions on these paths):
  // counting here counts what goes over the wire.
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema: env.pgSchema }) })
  await prisma.$executeRawUnsafe(`TRUNCATE "${env.pgSchema}".device_grant`)
  const sql = countQueries(pool)
  const store = prismaStore({ prisma, table: `${env.pgSchema}.device_grant` })
  return {
    store,
    sql,
    close: async () => {
      await prisma.$disconnect()
      await pool.end()
    }
  }
}

/** store-postgres as its README sets it up: the app's pool, the store's defaults (`pgsingle`: without batching, the A/B). */
async function openPostgres (databaseUrl: string, schema: string, max: number, batch: boolean): Promise<BenchStore> {
  const { default: pg } = await import('pg')
  const { postgresStore } = await import('@device-grant/store-postgres')
  const pool = new pg.Pool({ connectionString: databaseUrl, max, connectionTimeoutMillis: 5000, application_name: 'device_grant_bench' })
  await pool.query(`TRUNCATE "${schema}".device_grant`)
  const sql = countQueries(pool)
  const store = postgresStore({ pool, table: `${schema}.device_grant`, batch })
  return { store, sql, close: async () => { await pool.end() } }
}

/** Counts `pool.query()` calls from now on: one statement, one round trip, each. */
function countQueries (pool: import('pg').Pool): () => number {
  let statements = 0
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown
  pool.query = ((...args: unknown[]) => {
    statements++
    return query(...args)
  }) as typeof pool.query
  return () => statements
}
