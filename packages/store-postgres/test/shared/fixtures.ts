// Test fixtures both PostgreSQL stores share (@device-grant/store-postgres and
// @device-grant/store-prisma, whose tests import these files by relative path): a throw-away
// schema with the shipped migrations, grants, bounded waits and the killing of backends.
import { createHash, randomBytes } from 'node:crypto'
import pg from 'pg'
import type { DeviceGrantRecord, PolledGrant } from '@device-grant/core'
import { migrationSql } from '../../src/index.js'

/** The PostgreSQL the tests use; each test file works in its own throw-away schema there. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'

export interface TestSchema {
  /** `<prefix>_<random>`: this file's own schema, with the shipped migrations applied. */
  schema: string
  /** `<schema>.device_grant`, for the store's `table` option. */
  table: string
  /** For every store connection, so a test can find (and kill) this file's backends. */
  applicationName: string
  /** A separate plain connection, search_path = the schema. */
  admin: pg.Client
  /** Drops the schema and ends the admin connection (after the stores' connections). */
  drop: () => Promise<void>
}

export async function createTestSchema (prefix: string, url = DATABASE_URL): Promise<TestSchema> {
  const id = randomBytes(6).toString('hex')
  const schema = `${prefix}_${id}`
  const applicationName = `${prefix}_test_${id}`
  const admin = new pg.Client({ connectionString: url, application_name: `${applicationName}_admin` })
  await admin.connect()
  await admin.query(`CREATE SCHEMA "${schema}"`)
  await admin.query(`SET search_path TO "${schema}"`)
  await admin.query(migrationSql())
  return {
    schema,
    table: `${schema}.device_grant`,
    applicationName,
    admin,
    async drop () {
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

/** Resolves once `n` backends of `applicationName` (default 1) wait for a lock (or fails after 5 s). */
export async function waitForLockWait (admin: pg.Client, applicationName: string, n = 1): Promise<void> {
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [applicationName])
    if ((rows[0]?.n ?? 0) >= n) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`fewer than ${n} backends of ${applicationName} wait for a lock`)
}

/** Terminates the schema's store backends matching `where` (SQL on pg_stat_activity); how many. */
export async function terminate (db: Pick<TestSchema, 'admin' | 'applicationName'>, where: string): Promise<number> {
  const { rows } = await db.admin.query<{ n: number }>(
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND ${where}`, [db.applicationName])
  return rows[0]?.n ?? 0
}

/** What recordPoll answers for a record: the polled fields only (`PolledGrant`). */
export function polled (r: DeviceGrantRecord): PolledGrant {
  const p: PolledGrant = { clientId: r.clientId, status: r.status, expiresAt: r.expiresAt, interval: r.interval }
  if (r.lastPolledAt !== undefined) p.lastPolledAt = r.lastPolledAt
  return p
}
