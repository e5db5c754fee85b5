/** What the orchestrator and every server agree on. */

export const CLIENT_ID = 'bench-tv'
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code'
export const SUBJECT = 'bench-user'
export const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' }

/** In running order: each pair the targets compare (memory with the ceiling, Redis with memory) runs back to back. */
export const TARGETS = ['ceiling', 'memory', 'redis', 'oidc', 'postgres', 'pgsingle', 'pgraw', 'prisma', 'before'] as const
export type Target = typeof TARGETS[number]
/** Targets on the shared PostgreSQL: its CPU counts as "other work" in /proc/stat while they run. */
export const PG_TARGETS: readonly Target[] = ['postgres', 'pgsingle', 'pgraw', 'prisma', 'before']
/**
 * `before`: another build of this repository's bench (BENCH_BEFORE_SERVER, the path of its
 * `dist/src/server.js`), run as its `prisma` target: the code before a change, in the same run.
 */
export const BEFORE_SERVER = process.env.BENCH_BEFORE_SERVER
export const STORES = ['memory', 'redis', 'postgres', 'pgsingle', 'prisma'] as const
export type StoreKind = typeof STORES[number]

export const SCENARIOS = ['authorize', 'poll', 'flow'] as const
export type Scenario = typeof SCENARIOS[number]

export const TARGET_LABEL: Record<Target, string> = {
  ceiling: 'bare Fastify (ceiling)',
  oidc: 'oidc-provider',
  memory: 'fastify-device-grant, memory',
  redis: 'fastify-device-grant, Redis',
  postgres: 'fastify-device-grant, PostgreSQL (node-postgres)',
  pgsingle: 'fastify-device-grant, PostgreSQL (node-postgres), batch: false',
  pgraw: 'bare Fastify + node-postgres, same statements, one per request',
  prisma: 'fastify-device-grant, Prisma/PostgreSQL',
  before: 'fastify-device-grant, Prisma/PostgreSQL before (BENCH_BEFORE_SERVER)'
}

/** Sent by a server over IPC once it listens. */
export interface ReadyMessage { type: 'ready', port: number }

/**
 * `GET /bench/stats`: what the server counted since it started. `answers` are the token
 * endpoint's outcomes (`authorization_pending`, `slow_down`, `success`, ...); `sql` the
 * statements its pg pool sent (Prisma only); `redis` the commands its client sent (Redis only).
 */
export interface ServerStats {
  answers: Record<string, number>
  /** Grants created by the device authorization endpoint. */
  created?: number
  sql?: number
  redis?: number
}

/** Everything a server needs besides its target, passed in the environment. */
export interface ServerEnv {
  redisUrl?: string
  redisPrefix?: string
  databaseUrl?: string
  pgSchema?: string
  /** BENCH_DPOP=1: the plugin runs with `dpop: true` (dpop.ts). */
  dpop?: boolean
  /** BENCH_PG_POOL: the pg pool size of the postgres and pgraw targets (default 20: durable commits group better; Prisma keeps 10). */
  pgPool?: number
}

export function readServerEnv (): ServerEnv {
  const env: ServerEnv = {}
  if (process.env.BENCH_REDIS_URL !== undefined) env.redisUrl = process.env.BENCH_REDIS_URL
  if (process.env.BENCH_REDIS_PREFIX !== undefined) env.redisPrefix = process.env.BENCH_REDIS_PREFIX
  if (process.env.BENCH_DATABASE_URL !== undefined) env.databaseUrl = process.env.BENCH_DATABASE_URL
  if (process.env.BENCH_PG_SCHEMA !== undefined) env.pgSchema = process.env.BENCH_PG_SCHEMA
  if (process.env.BENCH_DPOP === '1') env.dpop = true
  if (process.env.BENCH_PG_POOL !== undefined) env.pgPool = Number(process.env.BENCH_PG_POOL)
  return env
}

export function count (answers: Record<string, number>, key: string): void {
  answers[key] = (answers[key] ?? 0) + 1
}

/** What roundtrips.ts counts, one request at a time. */
export const OPERATIONS = ['authorize', 'poll (first, pending)', 'poll (too fast, slow_down)', 'approve', 'poll (approved, token)'] as const
export type Operation = typeof OPERATIONS[number]

export interface Counts {
  /** Calls into the store object, per request. */
  storeCalls: number
  /** Redis commands the client sent, or SQL statements the pg pool sent, per request. */
  roundTrips?: number
  /** Redis only: commands MONITOR saw arrive from clients (not those Lua ran), per request. */
  monitored?: number
}

export type RoundTripResult = Partial<Record<StoreKind, Record<Operation, Counts>>>
