import { StoreUnavailableError } from 'fastify-device-grant'
import type { FastifyBaseLogger } from 'fastify'
import type { SqlStoreConfig } from './config.js'
import type { ExampleStore } from './store.js'

/** The tables of the shipped migrations, in order: the last one tells whether all are applied. */
const MIGRATION_TABLES = ['device_grant', 'device_grant_once']

/**
 * Creates the tables from the shipped migrations when they are missing, so the example runs on
 * an empty database (or one the previous version set up). A real deployment applies the
 * migration files with its migration tool instead (see the store READMEs): this only checks that
 * each migration's table exists, never that it is up to date.
 */
async function createTablesIfMissing (config: SqlStoreConfig, log: FastifyBaseLogger): Promise<void> {
  const [{ default: pg }, { migrationsDirectory }] = await Promise.all([import('pg'), import('@device-grant/store-postgres')])
  const { readdirSync, readFileSync } = await import('node:fs')
  const client = new pg.Client({ connectionString: config.url, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    await client.query('BEGIN')
    // Instances starting together would race to CREATE TABLE: the others wait here, then find it.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('example-basic:device_grant'))")
    const qualify = (name: string) => config.schema === undefined ? name : `${config.schema}.${name}`
    const { rows } = await client.query<{ found: boolean[] }>('SELECT array_agg(to_regclass(t) IS NOT NULL ORDER BY n) AS found FROM unnest($1::text[]) WITH ORDINALITY AS x(t, n)', [MIGRATION_TABLES.map(qualify)])
    const applied = rows[0]?.found.filter(Boolean).length ?? 0
    const pending = readdirSync(migrationsDirectory).sort().slice(applied)
    if (pending.length > 0) {
      if (config.schema !== undefined) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${config.schema}"`)
        // The migrations name their tables unqualified: they land in the first schema of the path.
        await client.query(`SET LOCAL search_path TO "${config.schema}"`)
      }
      for (const name of pending) await client.query(readFileSync(`${migrationsDirectory}${name}/migration.sql`, 'utf8'))
      log.info({ schema: config.schema ?? 'search_path', migrations: pending }, 'applied the shipped device grant migrations')
    }
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    await client.end()
  }
}

type SqlStore = ExampleStore['store'] & { sweep: () => Promise<number> }

/**
 * The first statement also loads Prisma's query compiler, which can outlast the store's
 * operationTimeout on a busy machine: a lookup that only timed out (a StoreUnavailableError with
 * no driver error behind it) is tried again, twice. A database that refuses fails at once.
 */
async function firstLookup (store: SqlStore): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await store.findByUserCode('')
      return
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || err.cause !== undefined || attempt === 3) throw err
    }
  }
}

/**
 * Serves `store` once one lookup has answered (the pool opens a connection now, not during the
 * first device's request, and a wrong DATABASE_URL fails the start). PostgreSQL has no TTL: every
 * minute, what expired past the store's retention (and ended counter windows) is deleted.
 */
async function serve (store: SqlStore, log: FastifyBaseLogger, release: () => Promise<void>): Promise<ExampleStore> {
  try {
    await firstLookup(store)
  } catch (err) {
    await release()
    throw err
  }
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
      await release()
    }
  }
}

/** Pool timeouts make a database that stops answering a quick 503, not a queue of hung requests. */
const POOL = { max: 10, connectionTimeoutMillis: 5000 }

export async function createPostgresStore (config: SqlStoreConfig, log: FastifyBaseLogger): Promise<ExampleStore> {
  const [{ default: pg }, { postgresStore }] = await Promise.all([import('pg'), import('@device-grant/store-postgres')])
  await createTablesIfMissing(config, log)
  // 20: durable commits group better with more connections in flight (store-postgres's README).
  const pool = new pg.Pool({ connectionString: config.url, ...POOL, max: 20 })
  // A connection that dies while idle is reported here; the pool replaces it by itself.
  pool.on('error', (err) => { log.warn({ err }, 'postgres connection lost') })
  const store = postgresStore({ pool, ...(config.schema !== undefined && { table: `${config.schema}.device_grant` }) })
  return await serve(store, log, async () => { await pool.end() })
}

export async function createPrismaStore (config: SqlStoreConfig, log: FastifyBaseLogger): Promise<ExampleStore> {
  const [{ PrismaPg }, { PrismaClient }, { prismaStore }] = await Promise.all([
    import('@prisma/adapter-pg'),
    import('./generated/prisma/client.js'),
    import('@device-grant/store-prisma')
  ])
  await createTablesIfMissing(config, log)
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: config.url, ...POOL, query_timeout: 10_000 }, config.schema === undefined ? undefined : { schema: config.schema }) })
  // Prisma qualifies its own queries with the adapter's schema; the store's raw ones need the name too.
  const store = prismaStore({ prisma, ...(config.schema !== undefined && { table: `${config.schema}.device_grant` }) })
  // Prisma also loads its query compiler on that first lookup.
  return await serve(store, log, async () => { await prisma.$disconnect() })
}
