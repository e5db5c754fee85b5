import { createHash, randomBytes } from 'node:crypto'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import type { DeviceGrantRecord, PolledGrant } from '@device-grant/core'
import { migrationSql } from '@device-grant/store-postgres'
import { PrismaClient } from '../generated/client/client.js'

export { PrismaClient }

/** The PostgreSQL the tests use; each test file works in its own throw-away schema there. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'

export function makeClient (options: { schema: string, applicationName: string, url?: string, max?: number, searchPath?: boolean }): PrismaClient {
  const pool: pg.PoolConfig = {
    connectionString: options.url ?? DATABASE_URL,
    max: options.max ?? 10,
    application_name: options.applicationName,
    connectionTimeoutMillis: 5000
  }
  // Lets unqualified raw SQL (the store's default table name) find the table.
  if (options.searchPath === true) pool.options = `-c search_path=${options.schema}`
  const adapter = new PrismaPg(pool, { schema: options.schema })
  return new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] })
}

export interface TestDatabase {
  /** `dg_<random>`: this file's own schema, with the shipped migrations applied. */
  schema: string
  /** `<schema>.device_grant`, for the store's `table` option. */
  table: string
  /** Set on every pool connection, so a test can find (and kill) this file's backends. */
  applicationName: string
  /** A client on the schema, with query events on. */
  prisma: PrismaClient
  /** A separate plain connection, search_path = the schema. */
  admin: pg.Client
  /** Another client on the same schema (its own pool), e.g. to play a second process. */
  newClient: (options?: { searchPath?: boolean, max?: number }) => PrismaClient
  /** Disconnects every client and drops the schema. */
  close: () => Promise<void>
}

export async function createTestDatabase (): Promise<TestDatabase> {
  const id = randomBytes(6).toString('hex')
  const schema = `dg_${id}`
  const applicationName = `dg_test_${id}`
  const admin = new pg.Client({ connectionString: DATABASE_URL, application_name: `${applicationName}_admin` })
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  await admin.query(`SET search_path TO "${schema}"`)
  await admin.query(migrationSql())
  const clients: PrismaClient[] = []
  const newClient = (options: { searchPath?: boolean, max?: number } = {}): PrismaClient => {
    const client = makeClient({ schema, applicationName, ...options })
    clients.push(client)
    return client
  }
  const prisma = newClient()
  return {
    schema,
    table: `${schema}.device_grant`,
    applicationName,
    prisma,
    admin,
    newClient,
    async close () {
      for (const client of clients) await client.$disconnect()
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
