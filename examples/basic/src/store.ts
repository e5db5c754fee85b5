import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { MemoryStore } from '@device-grant/store-memory'
import type { FastifyBaseLogger } from 'fastify'
import type { DeviceGrantStore } from 'fastify-device-grant'
import type { PrismaStoreConfig, RedisStoreConfig, StoreConfig } from './config.js'

/** A store and how to release what it holds (connections, timers): a store we pass in is ours to close. */
export interface ExampleStore {
  store: DeviceGrantStore
  close: () => Promise<void>
}

/**
 * The store DEVICE_GRANT_STORE asks for. Redis and Prisma are imported only when chosen, so the
 * memory store never loads a database driver.
 */
export async function createStore (config: StoreConfig | undefined, log: FastifyBaseLogger): Promise<ExampleStore> {
  if (config?.kind === 'redis') return await createRedisStore(config, log)
  if (config?.kind === 'prisma') return await createPrismaStore(config, log)
  const store = new MemoryStore()
  return { store, close: async () => { await store.close() } }
}

async function createRedisStore (config: RedisStoreConfig, log: FastifyBaseLogger): Promise<ExampleStore> {
  const [{ Redis }, { RedisStore }] = await Promise.all([import('ioredis'), import('@device-grant/store-redis')])
  // The settings the store's README asks for: while Redis is away, commands fail at once (the
  // plugin answers 503) instead of queueing and landing later; ioredis reconnects by itself.
  const client = new Redis(config.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000, lazyConnect: true })
  // ioredis emits an error at every reconnect attempt: log an outage once, and its end.
  let started = false
  let down = false
  let lastError: Error | undefined
  client.on('error', (err: Error) => {
    lastError = err
    if (!started || down) return
    down = true
    log.warn({ err }, 'redis unreachable: the device grant endpoints answer 503 until it is back')
  })
  client.on('ready', () => {
    if (down) log.info('redis reachable again')
    down = false
  })
  // Before connecting, so that a bad DEVICE_GRANT_REDIS_PREFIX throws with no connection to clean up.
  const store = new RedisStore({ client, ...(config.keyPrefix !== undefined && { keyPrefix: config.keyPrefix }) })
  // Fail the start rather than serve 503s from the first request on a wrong REDIS_URL.
  try {
    await client.connect()
  } catch (err) {
    client.disconnect()
    throw new Error('DEVICE_GRANT_STORE=redis: cannot connect to REDIS_URL', { cause: lastError ?? err })
  }
  started = true
  return {
    store,
    close: async () => {
      // QUIT waits for the replies in flight; without a connection there is nothing to wait for.
      try {
        await client.quit()
      } catch {
        client.disconnect()
      }
    }
  }
}

const require = createRequire(import.meta.url)

/** The SQL migrations @device-grant/store-prisma ships, oldest first, as one script. */
function migrationSql (): string {
  const dir = join(dirname(require.resolve('@device-grant/store-prisma/package.json')), 'migrations')
  return readdirSync(dir, { withFileTypes: true })
    .filter(entry => entry.isDirectory())
    .map(entry => entry.name)
    .sort()
    .map(name => readFileSync(join(dir, name, 'migration.sql'), 'utf8'))
    .join('\n')
}

/**
 * Creates the table from the shipped migration when it is missing, so the example runs on an
 * empty database. A real deployment runs `prisma migrate deploy` instead (see the README): this
 * only checks that the table exists, never that it is up to date.
 */
async function createTableIfMissing (config: PrismaStoreConfig, log: FastifyBaseLogger): Promise<void> {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: config.url, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    await client.query('BEGIN')
    // Instances starting together would race to CREATE TABLE: the others wait here, then find it.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('example-basic:device_grant'))")
    const table = config.schema === undefined ? 'device_grant' : `${config.schema}.device_grant`
    const { rows } = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table])
    if (rows[0]?.found === null) {
      if (config.schema !== undefined) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${config.schema}"`)
        // The migration names its table unqualified: it lands in the first schema of the path.
        await client.query(`SET LOCAL search_path TO "${config.schema}"`)
      }
      await client.query(migrationSql())
      log.info({ table }, 'created the device grant table from the shipped migration')
    }
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    await client.end()
  }
}

async function createPrismaStore (config: PrismaStoreConfig, log: FastifyBaseLogger): Promise<ExampleStore> {
  const [{ PrismaPg }, { PrismaClient }, { prismaStore }] = await Promise.all([
    import('@prisma/adapter-pg'),
    import('./generated/prisma/client.js'),
    import('@device-grant/store-prisma')
  ])
  await createTableIfMissing(config, log)
  // Pool timeouts make a database that stops answering a quick 503, not a queue of hung requests.
  const pool = { connectionString: config.url, max: 10, connectionTimeoutMillis: 5000, query_timeout: 10_000 }
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, config.schema === undefined ? undefined : { schema: config.schema }) })
  // Prisma qualifies its own queries with the adapter's schema; the store's raw ones need the name too.
  const store = prismaStore({ prisma, ...(config.schema !== undefined && { table: `${config.schema}.device_grant` }) })
  // One lookup before serving: Prisma loads its query compiler and the pool opens a connection
  // now, not during the first device's request.
  await store.findByDeviceCodeHash('')
  // PostgreSQL has no TTL: delete grants expired past the store's retention, every minute.
  const sweeper = setInterval(() => {
    store.sweep().then(
      count => { if (count > 0) log.debug({ count }, 'device grants swept') },
      (err: unknown) => { log.warn({ err }, 'device grant sweep failed') }
    )
  }, 60_000)
  sweeper.unref()
  return {
    store,
    close: async () => {
      clearInterval(sweeper)
      await prisma.$disconnect()
    }
  }
}
