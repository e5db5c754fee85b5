import pg from 'pg'
import { postgresStore } from '../src/index.js'
import { createTestSchema, DATABASE_URL, type TestSchema } from './shared/fixtures.js'
import type { PgStoreHarness } from './shared/harness.js'

export { DATABASE_URL, grant, polled, waitForLockWait, within } from './shared/fixtures.js'

export interface TestDatabase extends TestSchema {
  /** A pool on the database (search_path: the schema), as an app would own it. */
  pool: pg.Pool
  /** Another pool (e.g. to play a second process), ended by `close`. */
  newPool: (config?: pg.PoolConfig) => pg.Pool
  /** Ends every pool and drops the schema. */
  close: () => Promise<void>
}

export async function createTestDatabase (url = DATABASE_URL): Promise<TestDatabase> {
  const db = await createTestSchema('dgp', url)
  const pools: pg.Pool[] = []
  const newPool = (config: pg.PoolConfig = {}): pg.Pool => {
    const pool = new pg.Pool({ connectionString: url, max: 10, application_name: db.applicationName, connectionTimeoutMillis: 5000, options: `-c search_path=${db.schema}`, ...config })
    // A killed idle connection is reported here; the pool drops it by itself.
    pool.on('error', () => {})
    pools.push(pool)
    return pool
  }
  return {
    ...db,
    pool: newPool(),
    newPool,
    async close () {
      for (const each of pools) await each.end()
      await db.drop()
    }
  }
}

/** The shared PostgreSQL store tests' view of this store, on `db`. */
export function harness (db: TestDatabase): PgStoreHarness {
  return {
    packageName: '@device-grant/store-postgres',
    pools: 'pools',
    db,
    store: postgresStore({ pool: db.pool, table: db.table }),
    storeWith: (options) => postgresStore({ pool: db.pool, table: db.table, ...options }),
    otherProcess: () => postgresStore({ pool: db.newPool({ max: 4 }), table: db.table }),
    refusedCause: { code: 'ECONNREFUSED' },
    unreachable: () => {
      const pool = new pg.Pool({ connectionString: 'postgresql://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 2000 })
      return { store: postgresStore({ pool, table: db.table }), close: async () => { await pool.end() } }
    }
  }
}

/** Every statement a pool is asked to run, from now on: `{ name, text }`. */
export function recordQueries (pool: pg.Pool): Array<{ name?: string, text: string }> {
  const seen: Array<{ name?: string, text: string }> = []
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown
  pool.query = ((...args: unknown[]) => {
    const first = args[0] as string | { name?: string, text: string }
    seen.push(typeof first === 'string' ? { text: first } : { ...(first.name !== undefined && { name: first.name }), text: first.text })
    return query(...args)
  }) as typeof pool.query
  return seen
}
