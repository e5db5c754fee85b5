import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import pg from 'pg'
import { migrationSql } from '@device-grant/store-postgres'

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

export interface PrivateRedis {
  url: string
  /** The redis-server process, to read its CPU time. */
  pid: number
  /** A connection for INFO / MEMORY / FLUSHALL: the server is ours alone, so these are safe. */
  admin: Redis
  stop: () => Promise<void>
}

/**
 * A redis-server of our own on a free port, no persistence: its INFO commandstats and
 * INFO memory see only the bench's traffic, and flushing it between runs touches nobody's keys.
 */
export async function startRedis (): Promise<PrivateRedis> {
  const port = await freePort()
  const child: ChildProcess = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'
  ], { stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `redis://127.0.0.1:${port}`
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  // Refused connections are expected until redis-server listens: the loop below retries.
  admin.on('error', () => {})
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      await admin.connect()
      await admin.ping()
      break
    } catch (err) {
      admin.disconnect()
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill()
        throw new Error(`redis-server did not start on port ${port}: ${String(err)}`)
      }
      await sleep(100)
    }
  }
  return {
    url,
    pid: child.pid ?? 0,
    admin,
    stop: async () => {
      admin.disconnect()
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(3000)])
    }
  }
}

export async function redisUsedMemory (admin: Redis): Promise<number> {
  const info = await admin.info('memory')
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN)
}

export interface BenchDatabase {
  url: string
  schema: string
  admin: pg.Client
  drop: () => Promise<void>
}

/**
 * Schemas of our own with the shipped migrations applied, dropped at the end: `bench_<random>`,
 * and `bench_<random>_before` for the `before` target, so that it can run side by side with
 * another PostgreSQL target (each truncates its table when it starts).
 */
export async function createDatabase (): Promise<BenchDatabase> {
  const schema = `bench_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: DATABASE_URL, application_name: 'device_grant_bench_admin' })
  await admin.connect()
  for (const each of [schema, beforeSchema(schema)]) {
    await admin.query(`CREATE SCHEMA "${each}"`)
    await admin.query(`SET search_path TO "${each}"`)
    await admin.query(migrationSql())
  }
  await admin.query(`SET search_path TO "${schema}"`)
  return {
    url: DATABASE_URL,
    schema,
    admin,
    drop: async () => {
      for (const each of [schema, beforeSchema(schema)]) await admin.query(`DROP SCHEMA "${each}" CASCADE`)
      await admin.end()
    }
  }
}

/** The `before` target's schema. */
export function beforeSchema (schema: string): string {
  return `${schema}_before`
}
