import { createHash, randomBytes } from 'node:crypto'
import pg from 'pg'
import type { DeviceGrantRecord, PolledGrant } from '@device-grant/core'
import { migrationSql } from '../src/index.js'

/** The PostgreSQL the tests use; each test file works in its own throw-away schema there. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'

export interface TestDatabase {
  /** `dgp_<random>`: this file's own schema, with the shipped migrations applied. */
  schema: string
  /** `<schema>.device_grant`, for the store's `table` option. */
  table: string
  /** Set on every pool connection, so a test can find (and kill) this file's backends. */
  applicationName: string
  /** A pool on the database (search_path: the schema), as an app would own it. */
  pool: pg.Pool
  /** A separate plain connection, search_path = the schema. */
  admin: pg.Client
  /** Another pool (e.g. to play a second process), ended by `close`. */
  newPool: (config?: pg.PoolConfig) => pg.Pool
  /** Ends every pool and drops the schema. */
  close: () => Promise<void>
}

export async function createTestDatabase (url = DATABASE_URL): Promise<TestDatabase> {
  const id = randomBytes(6).toString('hex')
  const schema = `dgp_${id}`
  const applicationName = `dgp_test_${id}`
  const admin = new pg.Client({ connectionString: url, application_name: `${applicationName}_admin` })
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  await admin.query(`SET search_path TO "${schema}"`)
  await admin.query(migrationSql())
  const pools: pg.Pool[] = []
  const newPool = (config: pg.PoolConfig = {}): pg.Pool => {
    const pool = new pg.Pool({ connectionString: url, max: 10, application_name: applicationName, connectionTimeoutMillis: 5000, options: `-c search_path=${schema}`, ...config })
    // A killed idle connection is reported here; the pool drops it by itself.
    pool.on('error', () => {})
    pools.push(pool)
    return pool
  }
  const pool = newPool()
  return {
    schema,
    table: `${schema}.device_grant`,
    applicationName,
    pool,
    admin,
    newPool,
    async close () {
      for (const each of pools) await each.end()
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`)
      await admin.end()
    }
  }
}

let counter = 0

/** A pending grant with fresh codes, created at `createdAt` (default now), living 10 minutes. */
export function grant (overrides: Partial<DeviceGrantRecord> = {}): DeviceGrantRecord {
  const createdAt = overrides.createdAt ?? Date.now()
  counter++
  return {
    deviceCodeHash: createHash('sha256').update(randomBytes(32)).digest('base64url'),
    userCode: `${randomBytes(5).toString('hex').toUpperCase()}${counter}`,
    clientId: 'client-a',
    scope: 'openid profile',
    status: 'pending',
    createdAt,
    expiresAt: createdAt + 600_000,
    interval: 5,
    ...overrides
  }
}

/** Resolves `promise`, or rejects after `ms`: a hang fails the test instead of timing it out. */
export async function within<T> (ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves once a backend of `applicationName` is waiting for a lock (or fails after 5 s). */
export async function waitForLockWait (admin: pg.Client, applicationName: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [applicationName])
    if ((rows[0]?.n ?? 0) > 0) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`no backend of ${applicationName} waits for a lock`)
}

/** What recordPoll answers for a record: the polled fields only (`PolledGrant`). */
export function polled (r: DeviceGrantRecord): PolledGrant {
  const p: PolledGrant = { clientId: r.clientId, status: r.status, expiresAt: r.expiresAt, interval: r.interval }
  if (r.lastPolledAt !== undefined) p.lastPolledAt = r.lastPolledAt
  return p
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
