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
  const config: ExampleConfig = { host, port, issuer: env.ISSUER ?? `http://${urlHost}:${port}`, sessionSecret }
  const expiresIn = positiveInteger(env, 'DEVICE_GRANT_EXPIRES_IN')
  const interval = positiveInteger(env, 'DEVICE_GRANT_INTERVAL')
  if (expiresIn !== undefined) config.expiresIn = expiresIn
  if (interval !== undefined) config.interval = interval
  return config
}
