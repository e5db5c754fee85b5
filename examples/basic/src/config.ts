import { randomBytes } from 'node:crypto'

/** Settings read from the environment, with the defaults the README promises. */
export interface ExampleConfig {
  host: string
  port: number
  /** Where people and devices reach this server; defaults to http://HOST:PORT. */
  issuer: string
  expiresIn?: number
  interval?: number
  /** Signs the demo session cookie and the pages' CSRF tokens. Random per start unless SESSION_SECRET is set. */
  sessionSecret: string
  /** Where grants live (DEVICE_GRANT_STORE); absent means the memory store. */
  store?: StoreConfig
  /** Signs the access tokens (HS256). From JWT_SECRET; without it a random key per start, so tokens die with the process. */
  jwtSecret?: string
  /** DEVICE_GRANT_DPOP_NONCES=1: DPoP proofs must carry a server nonce (RFC 9449 §8). */
  dpopNonces?: boolean
  /** LOG_LEVEL: `info` logs starts, grants and tokens; `debug` adds every request and every poll. */
  logLevel: LogLevel
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

function readLogLevel (env: NodeJS.ProcessEnv): LogLevel {
  const raw = env.LOG_LEVEL
  if (raw === undefined || raw === '') return 'info'
  const level = LOG_LEVELS.find(l => l === raw.toLowerCase())
  if (level === undefined) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`)
  return level
}

/**
 * The store the grants live in. Memory serves one process; Redis and PostgreSQL (node-postgres
 * or Prisma) are shared, so any number of instances can serve the same devices.
 */
export type StoreConfig = { kind: 'memory' } | RedisStoreConfig | SqlStoreConfig

export interface RedisStoreConfig {
  kind: 'redis'
  /** REDIS_URL. */
  url: string
  /** DEVICE_GRANT_REDIS_PREFIX: one per app (or test run) sharing a Redis. */
  keyPrefix?: string
}

export interface SqlStoreConfig {
  /** `postgres`: @device-grant/store-postgres on a pg pool; `prisma`: @device-grant/store-prisma. */
  kind: 'postgres' | 'prisma'
  /** DATABASE_URL (PostgreSQL). */
  url: string
  /** DEVICE_GRANT_PG_SCHEMA: the schema of the table; default the connection's search_path (normally public). */
  schema?: string
}

const STORES = ['memory', 'redis', 'postgres', 'prisma']

/** DEVICE_GRANT_STORE and what it needs; undefined when unset (the memory store). */
export function readStoreConfig (env: NodeJS.ProcessEnv = process.env): StoreConfig | undefined {
  const kind = env.DEVICE_GRANT_STORE
  if (kind === undefined || kind === '') return undefined
  if (!STORES.includes(kind)) throw new Error(`DEVICE_GRANT_STORE must be one of ${STORES.join(', ')}, got "${kind}"`)
  if (kind === 'redis') {
    const keyPrefix = env.DEVICE_GRANT_REDIS_PREFIX
    return { kind, url: env.REDIS_URL ?? 'redis://127.0.0.1:6379', ...(keyPrefix !== undefined && keyPrefix !== '' && { keyPrefix }) }
  }
  if (kind === 'postgres' || kind === 'prisma') {
    const schema = env.DEVICE_GRANT_PG_SCHEMA
    // Spliced into SQL (CREATE SCHEMA, the table name), so only plain lowercase identifiers.
    if (schema !== undefined && schema !== '' && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new Error(`DEVICE_GRANT_PG_SCHEMA must be a lowercase identifier (a-z, 0-9, _), got "${schema}"`)
    }
    return { kind, url: env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test', ...(schema !== undefined && schema !== '' && { schema }) }
  }
  return { kind: 'memory' }
}

function positiveInteger (env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number of seconds, got "${raw}"`)
  return n
}

export function readConfig (env: NodeJS.ProcessEnv = process.env): ExampleConfig {
  const host = env.HOST ?? '127.0.0.1'
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env.PORT}"`)
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  const sessionSecret = env.SESSION_SECRET ?? randomBytes(32).toString('base64url')
  if (sessionSecret.length < 32) throw new Error('SESSION_SECRET must be at least 32 characters')
  const config: ExampleConfig = { host, port, issuer: env.ISSUER ?? `http://${urlHost}:${port}`, sessionSecret, logLevel: readLogLevel(env) }
  if (env.DEVICE_GRANT_DPOP_NONCES === '1') config.dpopNonces = true
  const expiresIn = positiveInteger(env, 'DEVICE_GRANT_EXPIRES_IN')
  const interval = positiveInteger(env, 'DEVICE_GRANT_INTERVAL')
  if (expiresIn !== undefined) config.expiresIn = expiresIn
  if (interval !== undefined) config.interval = interval
  const jwtSecret = env.JWT_SECRET
  if (jwtSecret !== undefined && jwtSecret !== '') {
    // HS256 wants a key at least as long as the hash (RFC 7518 §3.2).
    if (jwtSecret.length < 32) throw new Error('JWT_SECRET must be at least 32 characters')
    config.jwtSecret = jwtSecret
  }
  const store = readStoreConfig(env)
  if (store !== undefined) config.store = store
  return config
}
